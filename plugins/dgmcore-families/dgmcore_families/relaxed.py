"""Continuous relaxations of discrete families: :class:`RelaxedBernoulli`, :class:`RelaxedOneHotCategorical`.

Both are scored with their own (concrete) densities, never with the density of
the discrete family they relax (Pixyz's ``RelaxedCategorical`` scored its
samples with a Bernoulli likelihood).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["RelaxedBernoulli", "RelaxedOneHotCategorical"]


class RelaxedBernoulli(ParametricDistribution):
    """The binary concrete distribution on :math:`(0, 1)` (Maddison et al. 2017; Jang et al. 2017).

    A reparameterisable relaxation of :class:`~dgmcore_families.Bernoulli`:
    ``temperature`` :math:`\\tau > 0` (default 0.1, as in Pixyz; smaller is closer to
    0/1 samples) and one of ``probs`` or ``logits``. The log-density is the
    concrete density of the relaxed sample. It has no closed-form mean,
    variance or entropy (asking raises; use Monte-Carlo estimates).

    Example:
        >>> import torch
        >>> from dgmcore_families import RelaxedBernoulli
        >>> p = RelaxedBernoulli(temperature=0.5, probs=torch.tensor([0.3, 0.9]), var=["b"])
        >>> b = p.sample(batch_n=4, reparam=True)["b"]
        >>> b.shape, bool(((b > 0) & (b < 1)).all())
        (torch.Size([4, 2]), True)
        >>> p.get_log_prob({"b": torch.tensor([[0.5, 0.5]])})  # log 2p(1-p), summed
        tensor([-2.5823])
    """

    family = torch.distributions.RelaxedBernoulli
    params = ("temperature", "probs", "logits")
    defaults = {"temperature": 0.1}


class RelaxedOneHotCategorical(ParametricDistribution):
    """The concrete (Gumbel-softmax) distribution on the simplex (Maddison et al. 2017; Jang et al. 2017).

    A reparameterisable relaxation of :class:`~dgmcore_families.OneHotCategorical`:
    ``temperature`` :math:`\\tau > 0` (a scalar per distribution, default 0.1 as in
    Pixyz) and one of ``probs`` or ``logits`` (last dimension K, which ends
    ``features_shape``). Samples are points of the simplex; the log-density is
    the concrete density. Pixyz calls it ``RelaxedCategorical``.

    Example:
        >>> import torch
        >>> from dgmcore_families import RelaxedOneHotCategorical
        >>> p = RelaxedOneHotCategorical(temperature=0.5, probs=torch.tensor([0.2, 0.3, 0.5]), var=["y"])
        >>> y = p.sample(batch_n=2, reparam=True)["y"]
        >>> y.shape, torch.allclose(y.sum(-1), torch.ones(2))
        (torch.Size([2, 3]), True)
        >>> p.get_log_prob({"y": torch.tensor([[0.2, 0.3, 0.5]])})
        tensor([-0.5354])
    """

    family = torch.distributions.RelaxedOneHotCategorical
    params = ("temperature", "probs", "logits")
    defaults = {"temperature": 0.1}


# -- analytic KL pairs and entropies -------------------------------------------------------
# The concrete distributions have no closed-form KL or entropy.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
