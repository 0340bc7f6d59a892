"""Correlated Gaussians: :class:`MultivariateNormal`, :class:`LowRankMultivariateNormal`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["MultivariateNormal", "LowRankMultivariateNormal"]


class MultivariateNormal(ParametricDistribution):
    """The normal distribution :math:`\\mathcal{N}(x \\mid \\mu, \\Sigma)` with a full covariance.

    ``loc`` (:math:`\\mu`, last dimension D) and exactly one of ``scale_tril``
    (a lower-triangular :math:`L` with positive diagonal, :math:`\\Sigma = LL^\\top`:
    the cheapest and the one to return from a network), ``covariance_matrix``
    or ``precision_matrix``. ``features_shape`` ends in D, and the log-density
    sums over it as one event.

    Example:
        >>> import torch
        >>> from dgmcore_families import MultivariateNormal
        >>> L = torch.tensor([[1.0, 0.0], [0.5, 1.0]])
        >>> p = MultivariateNormal(loc=torch.zeros(2), scale_tril=L, var=["x"])
        >>> p.sample(batch_n=4)["x"].shape, p.features_shape
        (torch.Size([4, 2]), torch.Size([2]))
        >>> p.get_log_prob({"x": torch.zeros(1, 2)})
        tensor([-1.8379])
    """

    family = torch.distributions.MultivariateNormal
    params = ("loc", "scale_tril", "covariance_matrix", "precision_matrix")


class LowRankMultivariateNormal(ParametricDistribution):
    """A Gaussian with low-rank-plus-diagonal covariance :math:`\\Sigma = WW^\\top + \\mathrm{diag}(d)`.

    ``loc`` (last dimension D), ``cov_factor`` (:math:`W`, shape ``(..., D, R)``)
    and ``cov_diag`` (:math:`d > 0`, shape ``(..., D)``): O(D R^2) to score
    instead of O(D^3).

    Example:
        >>> import torch
        >>> from dgmcore_families import LowRankMultivariateNormal
        >>> p = LowRankMultivariateNormal(
        ...     loc=torch.zeros(3), cov_factor=torch.ones(3, 1), cov_diag=torch.ones(3), var=["x"])
        >>> p.sample_variance()
        tensor([2., 2., 2.])
    """

    family = torch.distributions.LowRankMultivariateNormal
    params = ("loc", "cov_factor", "cov_diag")


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has every pair of MultivariateNormal and LowRankMultivariateNormal.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
