"""Planar and radial flows (Rezende & Mohamed 2015): :class:`PlanarFlow`, :class:`RadialFlow`.

Neither has a closed-form inverse; both reduce it to one scalar equation per
sample, solved here to machine precision (bisection for the planar flow, the
root of a quadratic for the radial flow).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from dgmcore_flows.base import Flow

__all__ = ["PlanarFlow", "RadialFlow"]

BISECTION_STEPS = 60


class PlanarFlow(Flow):
    """:math:`y = x + \\hat u \\tanh(w^\\top x + b)`, invertible since :math:`w^\\top \\hat u \\ge -1`.

    .. math::
        \\hat u = u + (m(w^\\top u) - w^\\top u) \\frac{w}{\\|w\\|^2},
        \\quad m(a) = -1 + \\mathrm{softplus}(a),
        \\qquad \\log |\\det J| = \\log |1 + \\hat u^\\top w\\, (1 - \\tanh^2(w^\\top x + b))|.

    Example:
        >>> import torch
        >>> flow = PlanarFlow(2)
        >>> x = torch.randn(3, 2)
        >>> y, logdet = flow(x)
        >>> torch.allclose(flow.inverse(y)[0], x, atol=1e-5)
        True
    """

    def __init__(self, features: int) -> None:
        super().__init__(features)
        self.u = nn.Parameter(torch.randn(features) * 0.1)
        self.w = nn.Parameter(torch.randn(features) * 0.1)
        self.b = nn.Parameter(torch.zeros(()))

    def _u_hat(self) -> tuple[Tensor, Tensor]:
        wu = self.w @ self.u
        u_hat = self.u + (F.softplus(wu) - 1 - wu) * self.w / (self.w @ self.w)
        return u_hat, self.w @ u_hat

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        u_hat, wu = self._u_hat()
        h = torch.tanh(x @ self.w + self.b)
        return x + h[..., None] * u_hat, torch.log1p(wu * (1 - h**2))

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        u_hat, wu = self._u_hat()
        # w.x = a solves g(a) = a + (w.u_hat) tanh(a + b) = w.y, increasing in a, with |a - w.y| <= |w.u_hat|
        target = y @ self.w
        lo, hi = target - wu.abs(), target + wu.abs()
        with torch.no_grad():
            for _ in range(BISECTION_STEPS):
                mid = (lo + hi) / 2
                above = mid + wu * torch.tanh(mid + self.b) > target
                lo, hi = torch.where(above, lo, mid), torch.where(above, mid, hi)
        a = (lo + hi) / 2
        # one Newton step with gradients, so that x is differentiable in the parameters
        a = a - (a + wu * torch.tanh(a + self.b) - target) / (1 + wu * (1 - torch.tanh(a + self.b) ** 2))
        h = torch.tanh(a + self.b)
        return y - h[..., None] * u_hat, -torch.log1p(wu * (1 - h**2))


class RadialFlow(Flow):
    """:math:`y = x + \\beta h(r) (x - x_0)`, :math:`h(r) = 1 / (\\alpha + r)`, :math:`r = \\|x - x_0\\|`.

    With :math:`\\alpha = \\mathrm{softplus}(\\tilde\\alpha) > 0` and
    :math:`\\beta = -\\alpha + \\mathrm{softplus}(\\tilde\\beta) \\ge -\\alpha` it is invertible, and

    .. math::
        \\log |\\det J| = (D - 1) \\log (1 + \\beta h) + \\log (1 + \\beta h + \\beta h'(r) r).

    Example:
        >>> import torch
        >>> flow = RadialFlow(2)
        >>> x = torch.randn(3, 2)
        >>> y, logdet = flow(x)
        >>> torch.allclose(flow.inverse(y)[0], x, atol=1e-5)
        True
    """

    def __init__(self, features: int) -> None:
        super().__init__(features)
        self.x0 = nn.Parameter(torch.randn(features) * 0.1)
        self.alpha_raw = nn.Parameter(torch.zeros(()))
        self.beta_raw = nn.Parameter(torch.zeros(()))

    def _coefficients(self) -> tuple[Tensor, Tensor]:
        alpha = F.softplus(self.alpha_raw)
        return alpha, -alpha + F.softplus(self.beta_raw)

    def _logdet(self, r: Tensor, alpha: Tensor, beta: Tensor) -> Tensor:
        h = 1 / (alpha + r)
        bh = beta * h
        return (self.features - 1) * torch.log1p(bh) + torch.log1p(bh - beta * r * h**2)

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        alpha, beta = self._coefficients()
        diff = x - self.x0
        r = diff.norm(dim=-1)
        return x + (beta / (alpha + r))[..., None] * diff, self._logdet(r, alpha, beta)

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        alpha, beta = self._coefficients()
        diff = y - self.x0
        ry = diff.norm(dim=-1)
        # ||y - x0|| = r (1 + beta / (alpha + r))  <=>  r^2 + (alpha + beta - ry) r - alpha ry = 0
        q = alpha + beta - ry
        r = (-q + (q**2 + 4 * alpha * ry).sqrt()) / 2
        return self.x0 + diff / (1 + beta / (alpha + r))[..., None], -self._logdet(r, alpha, beta)
