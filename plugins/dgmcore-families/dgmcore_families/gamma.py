"""Positive continuous families: :class:`Gamma`, :class:`Exponential`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["Gamma", "Exponential"]


class Gamma(ParametricDistribution):
    """The gamma distribution :math:`\\frac{\\beta^\\alpha}{\\Gamma(\\alpha)} x^{\\alpha-1} e^{-\\beta x}`.

    Parameters ``concentration`` (:math:`\\alpha > 0`) and ``rate`` (:math:`\\beta > 0`).
    Samples are reparameterisable (implicit reparameterisation).

    Example:
        >>> import torch
        >>> from dgmcore_families import Gamma
        >>> p = Gamma(concentration=2.0, rate=3.0, var=["x"])
        >>> p.sample_mean(), p.sample_variance()
        (tensor(0.6667), tensor(0.2222))
    """

    family = torch.distributions.Gamma
    params = ("concentration", "rate")


class Exponential(ParametricDistribution):
    """The exponential distribution :math:`\\lambda e^{-\\lambda x}`, ``rate`` :math:`\\lambda > 0`.

    Example:
        >>> import torch
        >>> from dgmcore_families import Exponential
        >>> p = Exponential(rate=2.0, var=["t"])
        >>> p.get_log_prob({"t": torch.tensor([0.5])})  # log 2 - 1
        tensor([-0.3069])
    """

    family = torch.distributions.Exponential
    params = ("rate",)


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has Gamma-Gamma, Exponential-Exponential and both mixed pairs.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
