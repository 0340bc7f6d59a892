"""The Poisson family: :class:`Poisson`, with an entropy torch does not provide."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["Poisson", "poisson_entropy"]


class Poisson(ParametricDistribution):
    """The Poisson distribution :math:`\\lambda^k e^{-\\lambda} / k!` over counts.

    Parameter ``rate`` (:math:`\\lambda > 0`). Unlike ``torch.distributions``, the
    entropy is available: the plugin registers :func:`poisson_entropy`, so
    ``get_entropy`` and ``Entropy(p)`` work once dgmcore-families is installed.

    Example:
        >>> import torch
        >>> from dgmcore_families.poisson import Poisson, poisson_entropy
        >>> p = Poisson(rate=3.0, var=["n"])
        >>> p.get_log_prob({"n": torch.tensor([2.0])})  # log(9 e^-3 / 2)
        tensor([-1.4959])
        >>> poisson_entropy(p.get_dist())  # what get_entropy() returns
        tensor(1.9315)
    """

    family = torch.distributions.Poisson
    params = ("rate",)


_ASYMPTOTIC_RATE = 1000.0  # above it the asymptotic series is exact to float64 precision


def poisson_entropy(p: torch.distributions.Poisson) -> torch.Tensor:
    """Entropy of a Poisson distribution, elementwise.

    .. math::
        H = \\lambda (1 - \\log \\lambda) + \\sum_{k \\ge 0} \\mathrm{Pois}(k \\mid \\lambda) \\log k!

    The series is summed up to :math:`\\lambda + 12\\sqrt{\\lambda} + 20` terms (the
    rest of the mass is below :math:`10^{-30}`); for :math:`\\lambda > 1000` the
    asymptotic expansion :math:`\\frac12 \\log(2\\pi e \\lambda) - \\frac{1}{12\\lambda} -
    \\frac{1}{24\\lambda^2} - \\frac{19}{360\\lambda^3}` is used instead (Evans & Boersma,
    1988).

    Args:
        p: the ``torch.distributions.Poisson`` object.

    Returns:
        The entropy in nats, with the shape of ``p.rate``.

    Example:
        >>> import torch
        >>> from dgmcore_families.poisson import poisson_entropy
        >>> poisson_entropy(torch.distributions.Poisson(torch.tensor([0.0, 1.0, 5000.0])))
        tensor([0.0000, 1.3048, 5.6775])
    """
    rate = p.rate
    small = rate.clamp(max=_ASYMPTOTIC_RATE)
    top = float(small.max()) if small.numel() else 0.0
    n_terms = int(top + 12.0 * math.sqrt(top) + 20.0)
    k = torch.arange(n_terms, dtype=rate.dtype, device=rate.device).reshape(-1, *[1] * rate.dim())
    log_k_factorial = torch.lgamma(k + 1.0)
    log_pmf = torch.special.xlogy(k, small) - small - log_k_factorial
    exact = small - torch.special.xlogy(small, small) + (log_pmf.exp() * log_k_factorial).sum(0)
    big = rate.clamp(min=_ASYMPTOTIC_RATE)
    asymptotic = (
        0.5 * torch.log(2 * math.pi * math.e * big) - 1 / (12 * big) - 1 / (24 * big**2) - 19 / (360 * big**3)
    )
    return torch.where(rate > _ASYMPTOTIC_RATE, asymptotic, exact)


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has Poisson-Poisson; torch has no Poisson entropy.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = [
    (Poisson, poisson_entropy),  # this plugin's class: other plugins' Poisson families are left alone
]
