"""The continuous uniform family: :class:`Uniform`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["Uniform"]


class Uniform(ParametricDistribution):
    """The uniform distribution on :math:`[\\mathrm{low}, \\mathrm{high})`.

    Values outside the interval have log-density :math:`-\\infty`. Samples are
    reparameterisable in ``low`` and ``high``.

    Example:
        >>> import torch
        >>> from dgmcore_families import Uniform
        >>> p = Uniform(low=-1.0, high=1.0, var=["u"], features_shape=[2])
        >>> p.get_log_prob({"u": torch.tensor([[0.0, 0.5], [0.0, 3.0]])})
        tensor([-1.3863,    -inf])
    """

    family = torch.distributions.Uniform
    params = ("low", "high")


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has Uniform-Uniform (infinite unless the support of p lies inside
# that of q) and Uniform against Normal, Gamma, Beta, ...
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
