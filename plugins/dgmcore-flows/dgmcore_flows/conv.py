"""The invertible 1x1 convolution of Glow (Kingma & Dhariwal 2018): :class:`ChannelConv`.

Every pixel's channel vector is multiplied by one invertible matrix :math:`W`:

.. math::
    y_{:, h, w} = W x_{:, h, w}, \\qquad \\log |\\det J| = H W \\log |\\det W|.

With ``lu=True``, :math:`W = P L (U + \\mathrm{diag}(\\mathrm{sign}(s)\\, e^{\\log |s|}))`
with a fixed permutation :math:`P`, unit lower-triangular :math:`L` and
strictly upper-triangular :math:`U`: the log-determinant is
:math:`H W \\sum \\log |s|`, with no determinant to compute.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dgmcore_flows.base import Flow

__all__ = ["ChannelConv"]


class ChannelConv(Flow):
    """Invertible 1x1 convolution over the channels of an image, initialised to a random rotation.

    Args:
        channels: the number of channels.
        lu: parameterise :math:`W` by its LU decomposition.

    Example:
        >>> import torch
        >>> flow = ChannelConv(3, lu=True)
        >>> x = torch.randn(2, 3, 4, 4)
        >>> y, logdet = flow(x)
        >>> torch.allclose(flow.inverse(y)[0], x, atol=1e-5), logdet.shape
        (True, torch.Size([2]))
    """

    permutation: Tensor
    sign_s: Tensor
    lower_mask: Tensor

    def __init__(self, channels: int, lu: bool = False) -> None:
        super().__init__(channels, image=True)
        self.lu = lu
        rotation = torch.linalg.qr(torch.randn(channels, channels))[0]
        if not lu:
            self.weight = nn.Parameter(rotation)
            return
        p, lower, upper = torch.linalg.lu(rotation)
        s = upper.diagonal()
        self.register_buffer("permutation", p)
        self.register_buffer("sign_s", s.sign())
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_s = nn.Parameter(s.abs().log())

    def _matrix(self) -> tuple[Tensor, Tensor]:
        """:math:`W` and :math:`\\log |\\det W|`."""
        if not self.lu:
            return self.weight, torch.linalg.slogdet(self.weight)[1]
        eye = torch.eye(self.features, dtype=self.lower.dtype, device=self.lower.device)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.permutation @ lower @ upper, self.log_s.sum()

    def _mix(self, w: Tensor, logdet: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        y = torch.einsum("ij,...jhw->...ihw", w, t)
        return y, (logdet * t.shape[-1] * t.shape[-2]).expand(self._batch_shape(t))

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self._mix(*self._matrix(), x)

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        w, logdet = self._matrix()
        return self._mix(torch.linalg.inv(w), -logdet, y)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, lu={self.lu}"
