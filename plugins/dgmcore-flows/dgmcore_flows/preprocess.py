"""Data preprocessing as a flow: :class:`Preprocess` (uniform dequantisation, then a logit).

For data on the grid :math:`\\{0, \\frac{1}{L-1}, \\dots, 1\\}` (``levels`` = ``L``):

.. math::
    \\tilde x = \\frac{(L - 1) x + u}{L}, \\qquad
    p = \\alpha + (1 - 2\\alpha) \\tilde x, \\qquad
    y = \\log p - \\log (1 - p),

with :math:`u \\sim U(0, 1)` in training mode (dequantisation, Theis et al.
2016) and :math:`u = 1/2` in eval mode and in ``inverse``, so that eval-mode
``forward`` and ``inverse`` are exact inverses. The log-determinant is
:math:`\\sum_i \\log \\frac{(L-1)(1 - 2\\alpha)}{L\\, p_i (1 - p_i)}`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from dgmcore_flows.base import Flow

__all__ = ["Preprocess"]


class Preprocess(Flow):
    """Dequantise data in ``[0, 1]`` and map it to the real line with a logit (RealNVP's preprocessing).

    Args:
        features: features (channels with ``image=True``).
        alpha: keeps the logit away from 0 and 1.
        levels: ``L``, the number of values the data takes (256 for 8-bit
            images); ``None`` skips the dequantisation (continuous data).
        image: the input is ``(channels, H, W)``.

    Example:
        >>> import torch
        >>> flow = Preprocess(2, levels=None).eval()
        >>> y, logdet = flow(torch.tensor([[0.5, 0.5]]))
        >>> y, logdet
        (tensor([[0., 0.]]), tensor([2.5619]))
    """

    def __init__(
        self, features: int, alpha: float = 0.05, levels: int | None = 256, *, image: bool = False
    ) -> None:
        super().__init__(features, image=image)
        self.alpha, self.levels = float(alpha), levels

    def _constant(self) -> float:
        scale = 1.0 if self.levels is None else (self.levels - 1) / self.levels
        return math.log(scale * (1 - 2 * self.alpha))

    def _sum(self, t: Tensor) -> Tensor:
        return t.flatten(-self.event_dims).sum(-1)

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        if self.levels is not None:
            u = torch.rand_like(x) if self.training else 0.5
            x = ((self.levels - 1) * x + u) / self.levels
        p = self.alpha + (1 - 2 * self.alpha) * x
        y = p.log() - torch.log1p(-p)
        # log(p (1 - p)) = -softplus(y) - softplus(-y)
        return y, self._sum(self._constant() + F.softplus(y) + F.softplus(-y))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        x = (torch.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha)
        if self.levels is not None:
            x = (self.levels * x - 0.5) / (self.levels - 1)
        return x, -self._sum(self._constant() + F.softplus(y) + F.softplus(-y))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, alpha={self.alpha}, levels={self.levels}"
