"""Multi-scale image flows: :class:`RealNVP` (Dinh et al. 2017) and :class:`Glow` (Kingma & Dhariwal 2018).

Both are :class:`~dgmcore_flows.FlowList` s that keep the image's shape: each
scale squeezes (``C, H, W -> 4C, H/2, W/2``), factors half of the channels
out (:class:`~dgmcore_flows.FactorOut`) and hands the other half to the next
scale; an :class:`~dgmcore_flows.Unsqueeze` puts the pixels back, so the
latent has the data's shape and a standard normal prior of that shape fits.
``H`` and ``W`` must be divisible by ``2 ** (levels - 1)`` (RealNVP) or
``2 ** levels`` (Glow).
"""

from __future__ import annotations

from dgmcore_flows.base import Flow
from dgmcore_flows.conv import ChannelConv
from dgmcore_flows.coupling import AffineCoupling
from dgmcore_flows.flow_list import FactorOut, FlowList
from dgmcore_flows.normalization import ActNorm2d
from dgmcore_flows.reshape import Squeeze, Unsqueeze

__all__ = ["Glow", "RealNVP"]


def _couplings(channels: int, n: int, mask: str, hidden: int) -> list[Flow]:
    return [
        AffineCoupling(channels, hidden=hidden, mask=mask, invert_mask=i % 2 == 1, image=True)
        for i in range(n)
    ]


def _realnvp_scale(channels: int, levels: int, steps: int, hidden: int) -> list[Flow]:
    if levels == 1:
        return _couplings(channels, steps + 1, "checkerboard", hidden)
    wide = 4 * channels
    inner = FlowList(_realnvp_scale(wide - wide // 2, levels - 1, steps, hidden))
    return [
        *_couplings(channels, steps, "checkerboard", hidden),
        Squeeze(channels),
        *_couplings(wide, steps, "channel", hidden),
        FactorOut(wide, inner),
        Unsqueeze(wide),
    ]


def _glow_scale(channels: int, levels: int, steps: int, hidden: int) -> list[Flow]:
    wide = 4 * channels
    flows: list[Flow] = [Squeeze(channels)]
    for i in range(steps):
        flows += [
            ActNorm2d(wide),
            ChannelConv(wide, lu=True),
            AffineCoupling(wide, hidden=hidden, mask="channel", invert_mask=i % 2 == 1, image=True),
        ]
    if levels > 1:
        flows.append(FactorOut(wide, FlowList(_glow_scale(wide - wide // 2, levels - 1, steps, hidden))))
    return [*flows, Unsqueeze(wide)]


class RealNVP(FlowList):
    """Multi-scale RealNVP: per scale checkerboard couplings, a squeeze, channel couplings, factor out.

    The last scale is ``steps + 1`` checkerboard couplings.

    Args:
        channels: the image channels.
        levels: the number of scales.
        steps: couplings per mask type and scale.
        hidden: channels of the couplings' convolutional networks.

    Example:
        >>> import torch
        >>> flow = RealNVP(1, levels=2, steps=2, hidden=8)
        >>> x = torch.randn(3, 1, 8, 8)
        >>> y, logdet = flow(x)
        >>> y.shape, torch.allclose(flow.inverse(y)[0], x, atol=1e-5)
        (torch.Size([3, 1, 8, 8]), True)
    """

    def __init__(self, channels: int, levels: int = 2, steps: int = 3, hidden: int = 64) -> None:
        super().__init__(_realnvp_scale(channels, levels, steps, hidden))


class Glow(FlowList):
    """Multi-scale Glow: per scale a squeeze, ``steps`` x (ActNorm2d, LU 1x1 conv, coupling), factor out.

    Args:
        channels: the image channels.
        levels: the number of scales.
        steps: flow steps per scale.
        hidden: channels of the couplings' convolutional networks.

    Example:
        >>> import torch
        >>> flow = Glow(1, levels=2, steps=2, hidden=8)
        >>> x = torch.randn(3, 1, 8, 8)
        >>> y, logdet = flow(x)
        >>> y.shape, torch.allclose(flow.inverse(y)[0], x, atol=1e-4)
        (torch.Size([3, 1, 8, 8]), True)
    """

    def __init__(self, channels: int, levels: int = 2, steps: int = 4, hidden: int = 64) -> None:
        super().__init__(_glow_scale(channels, levels, steps, hidden))
