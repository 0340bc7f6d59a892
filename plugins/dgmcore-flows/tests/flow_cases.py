"""The contract table: every flow the plugin registers, in the configurations that matter.

Each case builds a fresh flow (``factory``, also used as the differently
initialised copy of the ``state_dict`` check), and the data: ``shape`` of ``x``
(batch first, sample dimensions in front where given) and of the context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from dgmcore_flows import (
    IAF,
    MAF,
    ActNorm1d,
    ActNorm2d,
    AffineCoupling,
    BatchNorm1d,
    BatchNorm2d,
    ChannelConv,
    FactorOut,
    Flatten,
    FlowList,
    Glow,
    Permutation,
    PlanarFlow,
    Preprocess,
    RadialFlow,
    RealNVP,
    Reverse,
    Shuffle,
    SplineAutoregressive,
    SplineCoupling,
    Squeeze,
    Unsqueeze,
)
from torch import nn


@dataclass(frozen=True)
class FlowCase:
    id: str
    factory: Callable[[], nn.Module]
    shape: tuple[int, ...]
    context: tuple[int, ...] | None = None
    unit_interval: bool = False  # data in (0, 1)

    def data(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        g = torch.Generator().manual_seed(1)
        x = (
            torch.rand(self.shape, generator=g)
            if self.unit_interval
            else torch.randn(self.shape, generator=g)
        )
        c = None if self.context is None else torch.randn(self.context, generator=g)
        return x, c


HID = 8
CASES = [
    FlowCase(
        "FlowList-conditional",
        lambda: FlowList(
            [AffineCoupling(4, hidden=HID, context=3), Reverse(4), MAF(4, hidden=HID, context=3)]
        ),
        (5, 4),
        (5, 3),
    ),
    FlowCase("AffineCoupling-checkerboard", lambda: AffineCoupling(5, hidden=HID), (6, 5)),
    FlowCase(
        "AffineCoupling-channel-inverted-context",
        lambda: AffineCoupling(4, hidden=HID, mask="channel", invert_mask=True, context=2),
        (6, 4),
        (6, 2),
    ),
    FlowCase(
        "AffineCoupling-custom-mask",
        lambda: AffineCoupling(4, hidden=HID, mask=torch.tensor([True, True, False, True])),
        (6, 4),
    ),
    FlowCase(
        "AffineCoupling-sample-dims", lambda: AffineCoupling(3, hidden=HID, context=2), (2, 5, 3), (5, 2)
    ),
    FlowCase(
        "AffineCoupling-image-checkerboard", lambda: AffineCoupling(2, hidden=HID, image=True), (3, 2, 4, 4)
    ),
    FlowCase(
        "AffineCoupling-image-channel-context",
        lambda: AffineCoupling(4, hidden=HID, mask="channel", image=True, context=2),
        (3, 4, 2, 2),
        (3, 2),
    ),
    FlowCase(
        "AffineCoupling-image-custom-mask",
        lambda: AffineCoupling(1, hidden=HID, mask=torch.rand(1, 3, 3) > 0.5, image=True),
        (3, 1, 3, 3),
    ),
    FlowCase("SplineCoupling", lambda: SplineCoupling(4, bins=5, hidden=HID), (6, 4)),
    FlowCase(
        "SplineCoupling-image",
        lambda: SplineCoupling(2, bins=4, hidden=HID, image=True, invert_mask=True),
        (3, 2, 4, 4),
    ),
    FlowCase("MAF", lambda: MAF(4, hidden=HID), (6, 4)),
    FlowCase("MAF-context-sample-dims", lambda: MAF(3, hidden=HID, context=2), (2, 4, 3), (4, 2)),
    FlowCase("IAF", lambda: IAF(4, hidden=HID), (6, 4)),
    FlowCase("SplineAutoregressive", lambda: SplineAutoregressive(4, bins=5, hidden=HID), (6, 4)),
    FlowCase(
        "SplineAutoregressive-context",
        lambda: SplineAutoregressive(3, bins=4, hidden=HID, context=2),
        (6, 3),
        (6, 2),
    ),
    FlowCase("ActNorm1d", lambda: ActNorm1d(3), (8, 3)),
    FlowCase("ActNorm2d", lambda: ActNorm2d(2), (4, 2, 3, 3)),
    FlowCase("BatchNorm1d", lambda: BatchNorm1d(3), (8, 3)),
    FlowCase("BatchNorm2d", lambda: BatchNorm2d(2), (4, 2, 3, 3)),
    FlowCase("ChannelConv", lambda: ChannelConv(3), (2, 3, 2, 2)),
    FlowCase("ChannelConv-lu", lambda: ChannelConv(3, lu=True), (2, 3, 2, 2)),
    FlowCase("Squeeze", lambda: Squeeze(2), (2, 2, 4, 4)),
    FlowCase("Unsqueeze", lambda: Unsqueeze(4), (2, 4, 2, 2)),
    FlowCase("Permutation", lambda: Permutation(4, [2, 0, 3, 1]), (3, 4)),
    FlowCase("Shuffle-image", lambda: Shuffle(3, image=True), (2, 3, 2, 2)),
    FlowCase("Reverse", lambda: Reverse(4), (3, 4)),
    FlowCase("Flatten", lambda: Flatten((2, 2, 2)), (3, 2, 2, 2)),
    FlowCase("Preprocess-continuous", lambda: Preprocess(4, levels=None), (5, 4), unit_interval=True),
    FlowCase(
        "Preprocess-dequantise",
        lambda: Preprocess(2, levels=17, image=True),
        (3, 2, 2, 2),
        unit_interval=True,
    ),
    FlowCase("PlanarFlow", lambda: PlanarFlow(3), (6, 3)),
    FlowCase("RadialFlow", lambda: RadialFlow(3), (6, 3)),
    FlowCase("FactorOut", lambda: FactorOut(4, AffineCoupling(2, hidden=HID, image=True)), (3, 4, 2, 2)),
    FlowCase("RealNVP", lambda: RealNVP(1, levels=2, steps=1, hidden=HID), (2, 1, 4, 4)),
    FlowCase("Glow", lambda: Glow(1, levels=2, steps=1, hidden=HID), (2, 1, 4, 4)),
]
