"""Families on the unit interval and the simplex: :class:`Beta`, :class:`Dirichlet`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["Beta", "Dirichlet"]


class Beta(ParametricDistribution):
    """The beta distribution on :math:`(0, 1)`, :math:`\\propto x^{a-1} (1-x)^{b-1}`.

    Parameters ``concentration1`` (:math:`a > 0`) and ``concentration0``
    (:math:`b > 0`), named as in ``torch.distributions`` and Pixyz.

    Example:
        >>> from dgmcore_families import Beta
        >>> p = Beta(concentration1=2.0, concentration0=2.0, var=["x"], features_shape=[3])
        >>> p.sample_mean()
        tensor([0.5000, 0.5000, 0.5000])
    """

    family = torch.distributions.Beta
    params = ("concentration1", "concentration0")


class Dirichlet(ParametricDistribution):
    """The Dirichlet distribution on the simplex, :math:`\\propto \\prod_k x_k^{\\alpha_k - 1}`.

    Parameter ``concentration`` (:math:`\\alpha_k > 0`); its last dimension is the
    number of categories, which is part of ``features_shape``.

    Example:
        >>> import torch
        >>> from dgmcore_families import Dirichlet
        >>> p = Dirichlet(concentration=torch.ones(4), var=["pi"])
        >>> pi = p.sample(batch_n=2)["pi"]
        >>> pi.shape, p.features_shape
        (torch.Size([2, 4]), torch.Size([4]))
        >>> torch.allclose(pi.sum(-1), torch.ones(2))
        True
    """

    family = torch.distributions.Dirichlet
    params = ("concentration",)


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has Beta-Beta and Dirichlet-Dirichlet.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
