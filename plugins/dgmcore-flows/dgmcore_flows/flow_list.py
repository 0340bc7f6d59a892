"""Composition of flows: :class:`FlowList` and :class:`FactorOut` (multi-scale architectures).

.. math::
    f = f_K \\circ \\dots \\circ f_1, \\qquad \\log |\\det J_f(x)| = \\sum_k \\log |\\det J_{f_k}(x_{k-1})|.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor, nn

from dgmcore_flows.base import Flow
from dgmcore_flows.errors import FlowShapeError

__all__ = ["FactorOut", "FlowList"]


class FlowList(Flow):
    """Flows applied one after another; a context reaches the flows that take one.

    Args:
        flows: the flows, in the order ``forward`` applies them (``inverse``
            applies them backwards). Each flow's output must fit the next one's input.

    Example:
        >>> import torch
        >>> from dgmcore_flows import AffineCoupling, Reverse
        >>> flow = FlowList([AffineCoupling(4, hidden=8), Reverse(4), AffineCoupling(4, hidden=8, context=2)])
        >>> x, c = torch.randn(3, 4), torch.randn(3, 2)
        >>> y, logdet = flow(x, c)
        >>> torch.allclose(flow.inverse(y, c)[0], x, atol=1e-6), logdet.shape
        (True, torch.Size([3]))
        >>> len(flow), flow.context_features
        (3, 2)
    """

    def __init__(self, flows: Iterable[Flow]) -> None:
        modules = list(flows)
        if not modules:
            raise FlowShapeError("FlowList: needs at least one flow, got none")
        first = modules[0]
        contexts = {m.context_features for m in modules} - {0}
        if len(contexts) > 1:
            raise FlowShapeError(f"FlowList: the flows take contexts of different sizes {sorted(contexts)}")
        super().__init__(first.features, context=contexts.pop() if contexts else 0)
        self.event_dims = first.event_dims
        self.flows = nn.ModuleList(modules)
        for a, b in zip(modules[:-1], modules[1:], strict=True):
            if a.out_features != b.in_shape[0] or a.out_event_dims != b.event_dims:
                raise FlowShapeError(
                    f"FlowList: {a.flow_name} gives {a.out_features} features in {a.out_event_dims} event "
                    f"dimension(s), but the next flow {b.flow_name} expects {b.in_shape[0]} in {b.event_dims}"
                )

    @property
    def in_shape(self) -> tuple[int, ...]:  # noqa: D102
        return self[0].in_shape

    @property
    def out_features(self) -> int:  # noqa: D102
        return self[-1].out_features

    @property
    def out_event_dims(self) -> int:  # noqa: D102
        return self[-1].out_event_dims

    @property
    def flow_name(self) -> str:  # noqa: D102
        if type(self) is not FlowList:  # a builder (RealNVP, Glow) is named by its channels
            return super().flow_name
        return f"FlowList({len(self.flows)} flows)"

    def __len__(self) -> int:
        return len(self.flows)

    def __iter__(self) -> Iterator[Flow]:
        return iter(self.flows)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Flow:
        return self.flows[index]  # type: ignore[return-value]

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        total: Tensor | int = 0
        for flow in self:
            x, logdet = flow(x, context if flow.context_features else None)
            total = total + logdet
        return x, total  # type: ignore[return-value]

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        total: Tensor | int = 0
        for flow in reversed(list(self)):
            y, logdet = flow.inverse(y, context if flow.context_features else None)
            total = total + logdet
        return y, total  # type: ignore[return-value]

    def extra_repr(self) -> str:
        return ""


class FactorOut(Flow):
    """Multi-scale factoring out (RealNVP): ``channels // 2`` channels leave, ``flow`` maps the rest.

    Args:
        channels: the input channels ``C``.
        flow: a flow for the last ``C - C // 2`` channels that keeps their shape
            (a flow that squeezes ends in an :class:`~dgmcore_flows.Unsqueeze`).

    Example:
        >>> import torch
        >>> from dgmcore_flows import ActNorm2d
        >>> flow = FactorOut(4, ActNorm2d(2))
        >>> y, logdet = flow(torch.randn(3, 4, 2, 2))
        >>> y.shape, logdet.shape
        (torch.Size([3, 4, 2, 2]), torch.Size([3]))
    """

    def __init__(self, channels: int, flow: Flow) -> None:
        super().__init__(channels, context=flow.context_features, image=True)
        self.split = channels // 2
        if (flow.in_shape[0], flow.out_features, flow.out_event_dims) != (channels - self.split,) * 2 + (3,):
            raise FlowShapeError(
                f"FactorOut({channels}): the inner flow {flow.flow_name} must take and give "
                f"{channels - self.split} channels of images"
            )
        self.flow = flow

    def _halves(self, t: Tensor) -> tuple[Tensor, Tensor]:
        return t[..., : self.split, :, :], t[..., self.split :, :, :]

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        out, rest = self._halves(x)
        y, logdet = self.flow(rest, context)
        return torch.cat([out, y], dim=-3), logdet

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        out, rest = self._halves(y)
        x, logdet = self.flow.inverse(rest, context)
        return torch.cat([out, x], dim=-3), logdet
