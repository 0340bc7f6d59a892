"""Density terms: :class:`LogProb` and :class:`Prob`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dgmcore.distributions._base import Distribution
from dgmcore.errors import InputTypeError
from dgmcore.losses._base import Loss, XDict

__all__ = ["LogProb", "Prob", "check_distribution"]


def check_distribution(p: Any, owner: str) -> Distribution:
    """Return ``p`` if it is a distribution, else raise a clear error."""
    if not isinstance(p, Distribution):
        raise InputTypeError(f"{owner} needs a dgmcore Distribution, got {type(p).__name__}")
    return p


class LogProb(Loss):
    """:math:`\\log p(x|z)`, one value per batch element (features summed).

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> loss = p.log_prob()
        >>> str(loss)
        'log p(x|z)'
        >>> loss.eval({"x": torch.zeros(2, 3), "z": torch.zeros(2, 3)}).shape
        torch.Size([2])
    """

    def __init__(
        self, p: Distribution, sum_features: bool = True, feature_dims: Sequence[int] | None = None
    ) -> None:
        self.p = check_distribution(p, "LogProb")
        super().__init__(list(p.var) + [v for v in p.input_var if v not in p.var])
        self.sum_features = sum_features
        self.feature_dims = feature_dims

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self.p.get_log_prob(x, self.sum_features, self.feature_dims)

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        return self.p.get_signed_log_prob(x, self.sum_features, self.feature_dims, prefer_negated)

    def _text(self) -> str:
        return f"log {self.p.prob_text}"

    def _symbolic(self) -> Any:
        from dgmcore.latex import factor_latex, symbol

        # log p(x,z), as in the text: "\log p(x|z)p(z)" would read as a product
        return symbol(self._text(), f"\\log {factor_latex(self.p)}")


class Prob(LogProb):
    """:math:`p(x|z)`: the exponential of :class:`LogProb`."""

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self.p.get_log_prob(x, self.sum_features, self.feature_dims).exp()

    def _text(self) -> str:
        return self.p.prob_text

    def _symbolic(self) -> Any:
        from dgmcore.latex import factor_latex, symbol

        return symbol(self._text(), factor_latex(self.p))
