"""Flows that only rearrange: :class:`Squeeze`, :class:`Unsqueeze`, :class:`Flatten` (log-det 0)."""

from __future__ import annotations

import math

from torch import Tensor

from dgmcore_flows.base import Flow, shape_text
from dgmcore_flows.errors import FlowShapeError

__all__ = ["Flatten", "Squeeze", "Unsqueeze"]


def _squeeze(t: Tensor, f: int) -> Tensor:
    *lead, c, h, w = t.shape
    t = t.reshape(*lead, c, h // f, f, w // f, f)
    n = len(lead)
    t = t.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)  # (..., C, f, f, H/f, W/f)
    return t.reshape(*lead, c * f * f, h // f, w // f)


def _unsqueeze(t: Tensor, f: int) -> Tensor:
    *lead, c, h, w = t.shape
    t = t.reshape(*lead, c // (f * f), f, f, h, w)
    n = len(lead)
    t = t.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)  # (..., C, H, f, W, f)
    return t.reshape(*lead, c // (f * f), h * f, w * f)


class Squeeze(Flow):
    """Trades space for channels: ``(C, H, W) -> (C f^2, H / f, W / f)`` (RealNVP's squeezing).

    Each ``f x f`` block of pixels becomes ``f^2`` channels at one pixel.

    Args:
        channels: the input channels ``C``.
        factor: ``f``; ``H`` and ``W`` must be divisible by it.

    Example:
        >>> import torch
        >>> flow = Squeeze(1)
        >>> y, logdet = flow(torch.arange(16.0).reshape(1, 1, 4, 4))
        >>> y.shape, y[0, :, 0, 0]
        (torch.Size([1, 4, 2, 2]), tensor([0., 1., 4., 5.]))
    """

    def __init__(self, channels: int, factor: int = 2) -> None:
        super().__init__(channels, image=True)
        self.factor = factor

    @property
    def out_features(self) -> int:  # noqa: D102
        return self.features * self.factor**2

    def _check_pixels(self, t: Tensor, direction: str) -> None:
        if t.shape[-1] % self.factor or t.shape[-2] % self.factor:
            raise FlowShapeError(
                f"{self.flow_name}: {direction} needs a height and width divisible by {self.factor}, "
                f"got {shape_text(t.shape)}"
            )

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        self._check_pixels(x, "forward")
        return _squeeze(x, self.factor), x.new_zeros(self._batch_shape(x))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return _unsqueeze(y, self.factor), y.new_zeros(self._batch_shape(y))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, factor={self.factor}"


class Unsqueeze(Squeeze):
    """The inverse of :class:`Squeeze`: ``(C, H, W) -> (C / f^2, H f, W f)``; ``channels`` is the input ``C``.

    Example:
        >>> import torch
        >>> Unsqueeze(4)(torch.zeros(1, 4, 2, 2))[0].shape
        torch.Size([1, 1, 4, 4])
    """

    def __init__(self, channels: int, factor: int = 2) -> None:
        if channels % (factor * factor):
            raise FlowShapeError(
                f"Unsqueeze({channels}): channels must be divisible by factor**2 = {factor**2}"
            )
        super().__init__(channels, factor)

    @property
    def out_features(self) -> int:  # noqa: D102
        return self.features // self.factor**2

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return _unsqueeze(x, self.factor), x.new_zeros(self._batch_shape(x))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        self._check_pixels(y, "inverse")
        return _squeeze(y, self.factor), y.new_zeros(self._batch_shape(y))


class Flatten(Flow):
    """Flattens an event of shape ``shape`` (an image, say) into a vector of ``prod(shape)`` features.

    Example:
        >>> import torch
        >>> flow = Flatten((1, 2, 2))
        >>> y, _ = flow(torch.zeros(5, 1, 2, 2))
        >>> y.shape, flow.inverse(y)[0].shape
        (torch.Size([5, 4]), torch.Size([5, 1, 2, 2]))
    """

    def __init__(self, shape: tuple[int, ...] | list[int]) -> None:
        self.shape = tuple(int(s) for s in shape)
        super().__init__(self.shape[0])
        self.event_dims = len(self.shape)

    @property
    def in_shape(self) -> tuple[int, ...]:  # noqa: D102
        return self.shape

    @property
    def out_features(self) -> int:  # noqa: D102
        return math.prod(self.shape)

    @property
    def out_event_dims(self) -> int:  # noqa: D102
        return 1

    @property
    def flow_name(self) -> str:  # noqa: D102
        return f"Flatten({self.shape})"

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return x.flatten(-self.event_dims), x.new_zeros(self._batch_shape(x))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return y.unflatten(-1, self.shape), y.new_zeros(y.shape[:-1])

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
