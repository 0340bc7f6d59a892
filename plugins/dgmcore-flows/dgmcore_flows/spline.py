"""The monotone rational-quadratic spline of neural spline flows (Durkan et al. 2019).

On :math:`[-B, B]` the spline has ``K`` bins with knots :math:`(x_k, y_k)` and
positive derivatives :math:`\\delta_k` at the knots; outside it is the identity
(linear tails, derivative 1 at :math:`\\pm B`). In bin ``k``, with
:math:`\\xi = (x - x_k) / w_k` and :math:`s_k = h_k / w_k` (eq. 4 and 5 of the paper):

.. math::
    y = y_k + \\frac{h_k [s_k \\xi^2 + \\delta_k \\xi (1 - \\xi)]}
                   {s_k + (\\delta_{k+1} + \\delta_k - 2 s_k) \\xi (1 - \\xi)},
    \\qquad
    \\frac{dy}{dx} = \\frac{s_k^2 [\\delta_{k+1} \\xi^2 + 2 s_k \\xi (1 - \\xi) + \\delta_k (1 - \\xi)^2]}
                          {[s_k + (\\delta_{k+1} + \\delta_k - 2 s_k) \\xi (1 - \\xi)]^2}.

The inverse solves the quadratic :math:`a \\xi^2 + b \\xi + c = 0` of the
paper's appendix A.3 in its stable form :math:`\\xi = 2c / (-b - \\sqrt{b^2 - 4ac})`.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from dgmcore_flows.elementwise import Elementwise, softplus_inverse

__all__ = ["RationalQuadratic"]

MIN_BIN = 1e-3
MIN_DERIVATIVE = 1e-3


class RationalQuadratic(Elementwise):
    """A monotone rational-quadratic spline with ``bins`` bins on ``[-bound, bound]``.

    Its ``3 * bins - 1`` parameters per value are the unnormalised bin widths,
    bin heights and interior derivatives; all zero gives the identity.

    Example:
        >>> spline = RationalQuadratic(bins=4, bound=3.0)
        >>> x = torch.tensor([-5.0, -1.0, 0.5, 2.9])
        >>> p = torch.randn(4, spline.params)
        >>> y, ladj = spline.forward(x, p)
        >>> y[0].item()  # the tails are the identity
        -5.0
        >>> x_back, minus = spline.inverse(y, p)
        >>> torch.allclose(x_back, x, atol=1e-5), torch.allclose(minus, -ladj, atol=1e-5)
        (True, True)
    """

    def __init__(self, bins: int = 8, bound: float = 5.0) -> None:
        self.bins, self.bound = int(bins), float(bound)
        self.params = 3 * self.bins - 1
        self._derivative_shift = softplus_inverse(1 - MIN_DERIVATIVE)

    def __repr__(self) -> str:
        return f"RationalQuadratic(bins={self.bins}, bound={self.bound})"

    def _knots(self, raw: Tensor) -> Tensor:
        """The ``K + 1`` knot positions from ``-B`` to ``B``, each bin at least ``MIN_BIN`` wide."""
        sizes = MIN_BIN + (1 - MIN_BIN * self.bins) * torch.softmax(raw, dim=-1)
        knots = F.pad(torch.cumsum(sizes, dim=-1), (1, 0)) * (2 * self.bound) - self.bound
        return torch.cat([knots[..., :-1], torch.full_like(knots[..., -1:], self.bound)], dim=-1)

    def _bin(self, values: Tensor, p: Tensor, inverse: bool) -> tuple[Tensor, ...]:
        k = self.bins
        xs, ys = self._knots(p[..., :k]), self._knots(p[..., k : 2 * k])
        inner = MIN_DERIVATIVE + F.softplus(p[..., 2 * k :] + self._derivative_shift)
        ones = torch.ones_like(inner[..., :1])
        deriv = torch.cat([ones, inner, ones], dim=-1)
        knots = ys if inverse else xs
        idx = (values[..., None] >= knots[..., 1:-1]).sum(dim=-1, keepdim=True)  # the bin of each value
        x0, x1 = xs.gather(-1, idx), xs.gather(-1, idx + 1)
        y0, y1 = ys.gather(-1, idx), ys.gather(-1, idx + 1)
        d0, d1 = deriv.gather(-1, idx), deriv.gather(-1, idx + 1)
        w, h = x1 - x0, y1 - y0
        return x0[..., 0], y0[..., 0], w[..., 0], h[..., 0], d0[..., 0], d1[..., 0]

    @staticmethod
    def _log_slope(xi: Tensor, s: Tensor, d0: Tensor, d1: Tensor) -> Tensor:
        omx = 1 - xi
        denom = s + (d1 + d0 - 2 * s) * xi * omx
        numer = s**2 * (d1 * xi**2 + 2 * s * xi * omx + d0 * omx**2)
        return numer.log() - 2 * denom.log()

    def forward(self, x: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # noqa: D102
        inside = (x >= -self.bound) & (x <= self.bound)
        xc = x.clamp(-self.bound, self.bound)
        x0, y0, w, h, d0, d1 = self._bin(xc, p, inverse=False)
        s = h / w
        xi = ((xc - x0) / w).clamp(0, 1)
        omx = 1 - xi
        y = y0 + h * (s * xi**2 + d0 * xi * omx) / (s + (d1 + d0 - 2 * s) * xi * omx)
        ladj = self._log_slope(xi, s, d0, d1)
        return torch.where(inside, y, x), torch.where(inside, ladj, torch.zeros_like(ladj))

    def inverse(self, y: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:  # noqa: D102
        inside = (y >= -self.bound) & (y <= self.bound)
        yc = y.clamp(-self.bound, self.bound)
        x0, y0, w, h, d0, d1 = self._bin(yc, p, inverse=True)
        s = h / w
        dy, slope_sum = yc - y0, d1 + d0 - 2 * s
        a = h * (s - d0) + dy * slope_sum
        b = h * d0 - dy * slope_sum
        c = -s * dy
        xi = (2 * c / (-b - (b**2 - 4 * a * c).clamp(min=0).sqrt())).clamp(0, 1)
        x = x0 + xi * w
        ladj = -self._log_slope(xi, s, d0, d1)
        return torch.where(inside, x, y), torch.where(inside, ladj, torch.zeros_like(ladj))
