""":class:`EmpiricalDistribution`: the data distribution, without density."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dgmcore.distributions._base import Distribution
from dgmcore.distributions._deterministic import _batched, _check_tensors
from dgmcore.distributions._inputs import XDict
from dgmcore.errors import NoDensityError

__all__ = ["EmpiricalDistribution"]


class EmpiricalDistribution(Distribution):
    """The data distribution: "sampling" returns the observed values.

    Used as the data side of adversarial objectives. It has no density.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import EmpiricalDistribution
        >>> p_data = EmpiricalDistribution(["x"])
        >>> x = torch.randn(5, 2)
        >>> p_data.sample({"x": x}, return_all=False)["x"] is x
        True
    """

    distribution_name = "Data distribution"
    has_reparam = True  # nothing to differentiate: no score-function term is needed

    def __init__(self, var: str | Sequence[str], name: str = "p_{data}") -> None:
        super().__init__(var=var, cond_var=(), name=name)

    @property
    def input_var(self) -> list[str]:
        return list(self._var)

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        new = {v: x_dict[v] for v in self._var}
        _check_tensors(self, new, "the data")
        new = _batched(self, new, batch_n, True)
        if sample_shape:  # the data, once per sample: expand, no copy
            new = {v: t.expand(*sample_shape, *t.shape) for v, t in new.items()}
        return new

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        raise NoDensityError(
            f"{self.prob_text} is the empirical data distribution and has no density"
        )
