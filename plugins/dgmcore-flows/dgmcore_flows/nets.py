"""The conditioner networks flows use: :class:`MLP`, :class:`ConvNet` and :class:`MADE`.

Each ends in a zero-initialised layer, so a coupling or autoregressive flow
starts as (close to) the identity, the usual choice for deep flows.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["MADE", "MLP", "ConvNet", "MaskedLinear"]


def _zero(layer: nn.Linear | nn.Conv2d) -> None:
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)


class MLP(nn.Sequential):
    """``in_features -> hidden -> ... -> out_features`` with ReLU between the layers.

    Args:
        in_features: input size.
        out_features: output size.
        hidden: width of each hidden layer.
        layers: number of hidden layers.

    Example:
        >>> MLP(3, 4, hidden=8)(torch.zeros(2, 3)).shape
        torch.Size([2, 4])
    """

    def __init__(self, in_features: int, out_features: int, hidden: int = 64, layers: int = 2) -> None:
        sizes = [in_features] + [hidden] * layers
        modules: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            modules += [nn.Linear(a, b), nn.ReLU()]
        last = nn.Linear(sizes[-1], out_features)
        _zero(last)
        super().__init__(*modules, last)


class ConvNet(nn.Sequential):
    """3x3 conv -> ReLU -> 1x1 conv -> ReLU -> 3x3 conv (zero-initialised), padding kept "same".

    Example:
        >>> ConvNet(2, 4, hidden=8)(torch.zeros(1, 2, 5, 5)).shape
        torch.Size([1, 4, 5, 5])
    """

    def __init__(self, in_channels: int, out_channels: int, hidden: int = 64) -> None:
        last = nn.Conv2d(hidden, out_channels, 3, padding=1)
        _zero(last)
        super().__init__(
            nn.Conv2d(in_channels, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 1),
            nn.ReLU(),
            last,
        )

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        lead = x.shape[:-3]  # sample and batch dimensions, folded for conv2d and restored
        out = super().forward(x.reshape(-1, *x.shape[-3:]))
        return out.reshape(*lead, *out.shape[-3:])


class MaskedLinear(nn.Linear):
    """A linear layer whose weight is multiplied by a fixed 0/1 mask (a buffer)."""

    mask: Tensor

    def __init__(self, mask: Tensor) -> None:
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask.to(self.weight.dtype))

    def forward(self, x: Tensor) -> Tensor:  # noqa: D102
        return nn.functional.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """Masked autoencoder for distribution estimation (Germain et al. 2015).

    Output ``k`` of feature ``i`` depends on the inputs ``x_j`` with ``j < i``
    only (and on every context feature):

    .. math::
        \\theta_i = \\mathrm{MADE}(x_{<i}, c), \\qquad i = 1, \\dots, D.

    Hidden unit degrees cycle through ``1 .. D-1``; a hidden unit of degree
    ``m`` sees inputs of degree at most ``m``, an output of degree ``i`` sees
    hidden units of degree below ``i``.

    Args:
        features: ``D``.
        params: outputs per feature.
        hidden: width of each hidden layer.
        layers: number of hidden layers.
        context: number of context features (connected to every hidden unit).

    Returns:
        ``(..., D, params)``.

    Example:
        >>> made = MADE(3, params=2, hidden=8)
        >>> made(torch.randn(5, 3)).shape
        torch.Size([5, 3, 2])
    """

    def __init__(
        self, features: int, params: int, hidden: int = 64, layers: int = 2, context: int = 0
    ) -> None:
        super().__init__()
        self.features, self.params = features, params
        d_in = torch.cat([torch.arange(1, features + 1), torch.zeros(context, dtype=torch.long)])
        degrees = [d_in]
        for _ in range(layers):
            degrees.append(torch.arange(hidden) % max(features - 1, 1) + 1)
        d_out = torch.arange(1, features + 1).repeat_interleave(params)
        modules: list[nn.Module] = []
        for a, b in zip(degrees[:-1], degrees[1:], strict=True):
            modules += [MaskedLinear((b[:, None] >= a[None, :]).long()), nn.ReLU()]
        last = MaskedLinear((d_out[:, None] > degrees[-1][None, :]).long())
        _zero(last)
        self.net = nn.Sequential(*modules, last)

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:  # noqa: D102
        h = x if context is None else torch.cat([x, context], dim=-1)
        return self.net(h).unflatten(-1, (self.features, self.params))
