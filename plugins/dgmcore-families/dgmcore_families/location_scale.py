"""Heavier-tailed location-scale families: :class:`Laplace`, :class:`Cauchy`, :class:`StudentT`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["Laplace", "Cauchy", "StudentT"]


class Laplace(ParametricDistribution):
    """The Laplace distribution :math:`\\frac{1}{2b} \\exp(-|x - \\mu| / b)`.

    Parameters ``loc`` (:math:`\\mu`) and ``scale`` (:math:`b > 0`). Its log-density
    is an L1 reconstruction error, a common decoder likelihood.

    Example:
        >>> import torch
        >>> from dgmcore_families import Laplace
        >>> p = Laplace(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> p.get_log_prob({"x": torch.ones(2, 3), "z": torch.zeros(2, 3)})
        tensor([-5.0794, -5.0794])
    """

    family = torch.distributions.Laplace
    params = ("loc", "scale")


class Cauchy(ParametricDistribution):
    """The Cauchy distribution :math:`\\frac{1}{\\pi\\gamma} [1 + ((x - x_0)/\\gamma)^2]^{-1}`.

    Parameters ``loc`` (:math:`x_0`) and ``scale`` (:math:`\\gamma > 0`). It has no
    mean and no variance (``sample_mean`` returns NaN, as ``torch.distributions`` does).

    Example:
        >>> from dgmcore_families import Cauchy
        >>> Cauchy(loc=0.0, scale=1.0, var=["x"]).sample(batch_n=4)["x"].shape
        torch.Size([4])
    """

    family = torch.distributions.Cauchy
    params = ("loc", "scale")


class StudentT(ParametricDistribution):
    """Student's t distribution with ``df`` degrees of freedom, location ``loc``, scale ``scale``.

    :math:`\\nu \\to \\infty` recovers :class:`~dgmcore_families.Normal`; small
    :math:`\\nu` gives a likelihood robust to outliers. The mean exists for
    :math:`\\nu > 1`, the variance for :math:`\\nu > 2`.

    Example:
        >>> from dgmcore_families import StudentT
        >>> p = StudentT(df=5.0, loc=0.0, scale=1.0, var=["x"], features_shape=[3])
        >>> p.sample(batch_n=2, reparam=True)["x"].shape
        torch.Size([2, 3])
    """

    family = torch.distributions.StudentT
    params = ("df", "loc", "scale")


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has Laplace-Laplace and Cauchy-Cauchy; StudentT has no closed-form
# KL. Every entropy here is torch's own.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
