"""Counts over categories: :class:`Multinomial`, with its ``total_count`` honoured."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import ParameterError

__all__ = ["Multinomial", "kl_multinomial_multinomial"]


class Multinomial(ParametricDistribution):
    """The multinomial distribution: counts of ``total_count`` draws over K categories.

    .. math::
        p(x) = \\frac{n!}{\\prod_k x_k!} \\prod_k p_k^{x_k}, \\qquad \\sum_k x_k = n

    Give exactly one of ``probs`` or ``logits`` (last dimension K). ``total_count``
    (:math:`n`, a positive int, default 1) is a fixed part of the distribution:
    samples sum to it and the mean is :math:`n p`. (Pixyz accepted
    ``total_count`` and then ignored it; here it is used everywhere.)

    Args:
        total_count: the number of draws :math:`n`.
        var, cond_var, name, features_shape, memo, validate_args, probs, logits:
            as for every :class:`~dgmcore.distributions.ParametricDistribution`.

    Raises:
        ParameterError: ``total_count`` is not a positive integer.

    Example:
        >>> import torch
        >>> from dgmcore_families import Multinomial
        >>> p = Multinomial(total_count=10, probs=torch.tensor([0.2, 0.8]), var=["n"])
        >>> p.sample(batch_n=3)["n"].sum(-1)
        tensor([10., 10., 10.])
        >>> p.sample_mean()
        tensor([2., 8.])
    """

    family = torch.distributions.Multinomial
    params = ("probs", "logits")
    options = {"total_count": 1}
    total_count: int

    def __init__(self, total_count: int = 1, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, total_count=total_count, **kwargs)

    def setup(self) -> None:
        n = self.total_count
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ParameterError(f"Multinomial: total_count must be a positive int, got {n!r}")
        self.total_count = int(n)

    def make_dist(
        self, params: dict[str, Any], validate_args: bool = False
    ) -> torch.distributions.Distribution:
        return torch.distributions.Multinomial(self.total_count, **params, validate_args=validate_args)

    def extra_repr(self) -> str:
        return f"total_count={self.total_count}"


# -- analytic KL pairs and entropies -------------------------------------------------------
def kl_multinomial_multinomial(
    p: torch.distributions.Multinomial, q: torch.distributions.Multinomial
) -> torch.Tensor:
    """KL between two multinomials: :math:`n \\sum_k p_k \\log(p_k / q_k)` for equal :math:`n`.

    The counts are sums of :math:`n` independent categorical draws, so the KL is
    :math:`n` times the categorical KL. With different ``total_count`` the
    supports are disjoint and the KL is infinite.

    Example:
        >>> import torch
        >>> D = torch.distributions
        >>> kl_multinomial_multinomial(
        ...     D.Multinomial(4, torch.tensor([0.5, 0.5])), D.Multinomial(4, torch.tensor([0.9, 0.1])))
        tensor(2.0433)
    """
    kl = p.total_count * torch.distributions.kl_divergence(
        torch.distributions.Categorical(logits=p.logits), torch.distributions.Categorical(logits=q.logits)
    )
    if p.total_count != q.total_count:
        return torch.full_like(kl, float("inf"))
    return kl


KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = [
    (Multinomial, Multinomial, kl_multinomial_multinomial),  # this plugin's class, not torch's
]
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
