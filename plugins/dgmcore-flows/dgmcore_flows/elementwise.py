"""Elementwise monotone transforms that coupling and autoregressive flows apply feature by feature.

Each takes the values and their parameters (shape ``values.shape + (params,)``)
and returns the transformed values and the elementwise
:math:`\\log |\\partial y_i / \\partial x_i|`; the flow sums it over the event.
With all parameters zero, :class:`Affine` is the identity (a zero-initialised
conditioner starts the flow there).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = ["Affine", "Elementwise", "Gated"]

#: |log scale| stays below this (softly), so one layer cannot blow values up.
LOG_SCALE_BOUND = 3.0


class Elementwise:
    """The interface: ``params`` per value, ``forward(x, p)`` and ``inverse(y, p)``."""

    params: int = 0

    def forward(self, x: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - interface
        raise NotImplementedError

    def inverse(self, y: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Affine(Elementwise):
    """:math:`y = x\\, e^{s} + t` with :math:`s = 3 \\tanh(\\tilde s / 3)` (RealNVP, MAF).

    Example:
        >>> p = torch.tensor([[1.0, 0.0]])  # shift 1, log-scale 0
        >>> Affine().forward(torch.tensor([2.0]), p)
        (tensor([3.]), tensor([0.]))
    """

    params = 2

    def _split(self, p: Tensor) -> tuple[Tensor, Tensor]:
        return p[..., 0], LOG_SCALE_BOUND * torch.tanh(p[..., 1] / LOG_SCALE_BOUND)

    def forward(self, x: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # noqa: D102
        shift, log_scale = self._split(p)
        return x * log_scale.exp() + shift, log_scale

    def inverse(self, y: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # noqa: D102
        shift, log_scale = self._split(p)
        return (y - shift) * (-log_scale).exp(), -log_scale


class Gated(Elementwise):
    """IAF's update :math:`y = \\sigma x + (1 - \\sigma) m`, :math:`\\sigma = \\mathrm{sigmoid}(s + 2)`.

    The gate's bias of 2 starts it close to the identity (Kingma et al. 2016, eq. 14).

    Example:
        >>> y, ladj = Gated().forward(torch.tensor([1.0]), torch.zeros(1, 2))
        >>> round(y.item(), 4), round(ladj.item(), 4)
        (0.8808, -0.1269)
    """

    params = 2
    gate_bias = 2.0

    def forward(self, x: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # noqa: D102
        m, s = p[..., 0], p[..., 1] + self.gate_bias
        gate = torch.sigmoid(s)
        return gate * x + (1 - gate) * m, F.logsigmoid(s)

    def inverse(self, y: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # noqa: D102
        m, s = p[..., 0], p[..., 1] + self.gate_bias
        gate = torch.sigmoid(s)
        return (y - (1 - gate) * m) / gate, -F.logsigmoid(s)


def softplus_inverse(y: float) -> float:
    """:math:`\\log(e^y - 1)`, so that ``softplus(softplus_inverse(y)) == y``."""
    return math.log(math.expm1(y))
