"""Coupling flows: :class:`AffineCoupling` (RealNVP, Dinh et al. 2017) and :class:`SplineCoupling` (NSF).

A binary mask splits the input into the part kept, :math:`x_a` (mask 1), and the
part transformed, :math:`x_b`, elementwise with parameters computed from the
kept part (and the context :math:`c`):

.. math::
    y_a = x_a, \\qquad y_b = \\tau(x_b; \\theta(x_a, c)), \\qquad
    \\log |\\det J| = \\sum_b \\log |\\partial_{x_b} \\tau|.

Masks: on vectors ``"checkerboard"`` keeps the even features and ``"channel"``
the first half; on images (``image=True``) ``"checkerboard"`` alternates over
the pixels and ``"channel"`` keeps the first half of the channels. A bool
tensor gives the mask directly: ``(features,)`` (vectors, or channels of an
image) or ``(channels or 1, H, W)`` (pixels of an image). ``invert_mask``
swaps the two parts, so two couplings in a row transform everything.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dgmcore.errors import ParameterError
from dgmcore_flows.base import Flow
from dgmcore_flows.elementwise import Affine, Elementwise
from dgmcore_flows.errors import FlowShapeError
from dgmcore_flows.nets import MLP, ConvNet
from dgmcore_flows.spline import RationalQuadratic

__all__ = ["AffineCoupling", "Coupling", "SplineCoupling"]


def _feature_mask(features: int, mask: str) -> Tensor:
    if mask == "checkerboard":
        return torch.arange(features) % 2 == 0
    return torch.arange(features) < (features + 1) // 2


class Coupling(Flow):
    """A coupling flow with any elementwise transform (the shared machinery of the two below).

    Args:
        features: features (vectors) or channels (images).
        transform: the elementwise transform :math:`\\tau`.
        mask: ``"checkerboard"``, ``"channel"`` or a bool tensor (see the module).
        invert_mask: swap the kept and the transformed parts.
        hidden: width of the conditioner's hidden layers.
        layers: hidden layers of the (vector) conditioner.
        context: number of context features.
        image: the input is ``(channels, H, W)``; the conditioner is a :class:`ConvNet`.
    """

    kept: Tensor
    moved: Tensor
    order: Tensor
    pixel_mask: Tensor

    def __init__(
        self,
        features: int,
        transform: Elementwise,
        *,
        mask: str | Tensor = "checkerboard",
        invert_mask: bool = False,
        hidden: int = 64,
        layers: int = 2,
        context: int = 0,
        image: bool = False,
    ) -> None:
        super().__init__(features, context=context, image=image)
        self.transform = transform
        self.mask_kind = mask if isinstance(mask, str) else "custom"
        self.invert_mask = invert_mask
        if isinstance(mask, str) and mask not in ("checkerboard", "channel"):
            raise ParameterError(
                f"{self.flow_name}: mask is 'checkerboard', 'channel' or a bool tensor, got {mask!r}"
            )
        self.spatial = image and (mask == "checkerboard" or (isinstance(mask, Tensor) and mask.dim() == 3))
        p = transform.params
        if self.spatial:
            if isinstance(mask, Tensor):
                self.register_buffer("pixel_mask", mask.bool() ^ invert_mask)
            self.net: torch.nn.Module = ConvNet(features + context, features * p, hidden)
            return
        keep = _feature_mask(features, mask) if isinstance(mask, str) else mask.bool()
        if keep.shape != (features,):
            raise FlowShapeError(
                f"{self.flow_name}: a mask of shape ({features},) was expected, got {tuple(keep.shape)}"
            )
        keep = keep ^ invert_mask
        kept, moved = keep.nonzero()[:, 0], (~keep).nonzero()[:, 0]
        self.register_buffer("kept", kept)
        self.register_buffer("moved", moved)
        self.register_buffer("order", torch.argsort(torch.cat([kept, moved])))
        n_in, n_out = len(kept) + context, len(moved) * p
        self.net = ConvNet(n_in, n_out, hidden) if image else MLP(n_in, n_out, hidden, layers)

    def _params(self, x_kept: Tensor, context: Tensor | None, full: Tensor) -> Tensor:
        h = (
            x_kept
            if context is None
            else torch.cat([x_kept, self._expand_context(context, full)], dim=-self.event_dims)
        )
        out = self.net(h)
        if self.event_dims == 1:
            return out.unflatten(-1, (-1, self.transform.params))
        return out.unflatten(-3, (-1, self.transform.params)).movedim(-3, -1)  # (..., C, H, W, P)

    def _mask(self, x: Tensor) -> Tensor:
        if self.mask_kind == "custom":
            return self.pixel_mask
        h, w = x.shape[-2:]
        grid = (torch.arange(h, device=x.device)[:, None] + torch.arange(w, device=x.device)) % 2 == 0
        return grid ^ self.invert_mask

    def _couple(self, x: Tensor, context: Tensor | None, inverse: bool) -> tuple[Tensor, Tensor]:
        step = self.transform.inverse if inverse else self.transform.forward
        if self.spatial:
            keep = self._mask(x)
            if keep.shape[-2:] != x.shape[-2:]:
                raise FlowShapeError(
                    f"{self.flow_name}: the mask is for {tuple(keep.shape[-2:])} pixels, got an image "
                    "of shape "
                    f"{tuple(x.shape)}"
                )
            y, ladj = step(x, self._params(x * keep, context, x))
            return torch.where(keep, x, y), (ladj * ~keep).flatten(-3).sum(-1)
        dim = -self.event_dims
        xa, xb = x.index_select(dim, self.kept), x.index_select(dim, self.moved)
        yb, ladj = step(xb, self._params(xa, context, x))
        return torch.cat([xa, yb], dim).index_select(dim, self.order), ladj.flatten(dim).sum(-1)

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self._couple(x, context, inverse=False)

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self._couple(y, context, inverse=True)

    def extra_repr(self) -> str:
        inv = ", invert_mask=True" if self.invert_mask else ""
        return f"{super().extra_repr()}, mask={self.mask_kind!r}{inv}, transform={self.transform!r}"


class AffineCoupling(Coupling):
    """The affine coupling of RealNVP: :math:`y_b = x_b e^{s(x_a, c)} + t(x_a, c)`.

    Args:
        features: features (vectors) or channels (``image=True``).
        hidden, mask, invert_mask, layers, context, image: as for :class:`Coupling`.

    Example:
        >>> import torch
        >>> flow = AffineCoupling(4, hidden=16)
        >>> x = torch.randn(3, 4)
        >>> y, logdet = flow(x)
        >>> torch.allclose(flow.inverse(y)[0], x), logdet.shape
        (True, torch.Size([3]))
        >>> image_flow = AffineCoupling(2, mask="checkerboard", image=True, hidden=8)
        >>> image_flow(torch.randn(5, 2, 4, 4))[1].shape
        torch.Size([5])
    """

    def __init__(self, features: int, hidden: int = 64, **options: object) -> None:
        super().__init__(features, Affine(), hidden=hidden, **options)  # type: ignore[arg-type]


class SplineCoupling(Coupling):
    """A rational-quadratic spline coupling (NSF-RQ-C, Durkan et al. 2019).

    Args:
        features: features (vectors) or channels (``image=True``).
        bins: bins of the spline; bound: it acts on ``[-bound, bound]``, the identity outside.
        hidden, mask, invert_mask, layers, context, image: as for :class:`Coupling`.

    Example:
        >>> import torch
        >>> flow = SplineCoupling(4, bins=8, hidden=16)
        >>> y, logdet = flow(torch.randn(3, 4))
        >>> y.shape, logdet.shape
        (torch.Size([3, 4]), torch.Size([3]))
    """

    def __init__(
        self, features: int, bins: int = 8, bound: float = 5.0, hidden: int = 64, **options: object
    ) -> None:
        super().__init__(features, RationalQuadratic(bins, bound), hidden=hidden, **options)  # type: ignore[arg-type]
