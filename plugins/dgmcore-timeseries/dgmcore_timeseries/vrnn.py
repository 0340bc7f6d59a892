"""The variational recurrent neural network (Chung et al., NeurIPS 2015), written with dgmcore.

As in Pixyz's VRNN example, batch first, with features ``phi_x(x_t)`` and
``phi_z(z_t)`` and a GRU state ``h``:

* prior ``p(z_t|h_{t-1}) = N(loc, scale)`` of an MLP of ``h_{t-1}``;
* encoder ``q(z_t|x_t, h_{t-1}) = N(loc, scale)`` of ``[phi_x(x_t), h_{t-1}]``;
* decoder ``p(x_t|z_t, h_{t-1}) = Bernoulli`` of ``[phi_z(z_t), h_{t-1}]``;
* recurrence ``h_t = GRUCell([phi_x(x_t), phi_z(z_t)], h_{t-1})``, a
  deterministic distribution ``f(h|x, z, h_prev)`` drawn after ``z``.

The step loss is ``KL(q || prior) - E_{q f}[log p(x|z, h_prev)]``: the
expectation over ``q * f`` draws ``z`` and then ``h``, which
:class:`~dgmcore_timeseries.IterativeLoss` carries into ``h_prev``.
"""

from __future__ import annotations

import torch
from dgmcore_families import Bernoulli, Normal
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Deterministic, Distribution
from dgmcore.losses import KullbackLeibler, Loss
from dgmcore_timeseries.iterative import IterativeLoss
from dgmcore_timeseries.rollout import rollout

__all__ = ["VRNN"]


def _gaussian_head(n_in: int, hidden: int, z_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 2 * z_dim))


def _loc_scale(out: torch.Tensor) -> dict[str, torch.Tensor]:
    loc, s = out.chunk(2, -1)
    return {"loc": loc, "scale": F.softplus(s) + 1e-4}


class _Prior(Normal):
    def __init__(self, net: nn.Module) -> None:
        super().__init__(var=["z"], cond_var=["h_prev"], name="p_{prior}")
        self.net = net

    def forward(self, h_prev: torch.Tensor) -> dict[str, torch.Tensor]:
        return _loc_scale(self.net(h_prev))


class _Encoder(Normal):
    def __init__(self, net: nn.Module, phi_x: nn.Module) -> None:
        super().__init__(var=["z"], cond_var=["x", "h_prev"], name="q")
        self.net, self.phi_x = net, phi_x

    def forward(self, x: torch.Tensor, h_prev: torch.Tensor) -> dict[str, torch.Tensor]:
        return _loc_scale(self.net(torch.cat([self.phi_x(x), h_prev], -1)))


class _Decoder(Bernoulli):
    def __init__(self, net: nn.Module, phi_z: nn.Module) -> None:
        super().__init__(var=["x"], cond_var=["z", "h_prev"], name="p")
        self.net, self.phi_z = net, phi_z

    def forward(self, z: torch.Tensor, h_prev: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(torch.cat([self.phi_z(z), h_prev], -1))}


class _Recurrence(Deterministic):
    def __init__(self, cell: nn.GRUCell, phi_x: nn.Module, phi_z: nn.Module) -> None:
        super().__init__(var=["h"], cond_var=["x", "z", "h_prev"], name="f")
        self.cell, self.phi_x, self.phi_z = cell, phi_x, phi_z

    def forward(  # type: ignore[override]
        self, x: torch.Tensor, z: torch.Tensor, h_prev: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        return {"h": self.cell(torch.cat([self.phi_x(x), self.phi_z(z)], -1), h_prev)}


class VRNN(nn.Module):
    """A VRNN: its networks, its distributions and its negative ELBO.

    Args:
        x_dim: frame size (88 piano keys).
        z_dim, h_dim: latent and recurrent state sizes.
        hidden: width of the feature extractors and heads.

    Example:
        >>> model = VRNN(x_dim=6, z_dim=2, h_dim=8, hidden=8)
        >>> x = torch.bernoulli(torch.full((3, 5, 6), 0.3))
        >>> print(model.loss())
        sum_{t=1}^{T} (KL[q(z|x,h_prev)||p_{prior}(z|h_prev)] - E_{q(z,h|x,h_prev)}[log p(x|z,h_prev)])
        >>> model.loss().eval(model.inputs(x)).shape
        torch.Size([3])
        >>> model.generate(4, steps=7)["probs"].shape
        torch.Size([4, 7, 6])
    """

    def __init__(self, x_dim: int = 88, z_dim: int = 16, h_dim: int = 64, hidden: int = 64) -> None:
        super().__init__()
        self.h_dim = h_dim
        self.phi_x = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU())
        self.phi_z = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU())
        self.cell = nn.GRUCell(2 * hidden, h_dim)
        self.prior = _Prior(_gaussian_head(h_dim, hidden, z_dim))
        self.q = _Encoder(_gaussian_head(hidden + h_dim, hidden, z_dim), self.phi_x)
        dec = nn.Sequential(nn.Linear(hidden + h_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))
        self.p = _Decoder(dec, self.phi_z)
        self.f = _Recurrence(self.cell, self.phi_x, self.phi_z)

    @property
    def distributions(self) -> list[Distribution]:
        """The four distributions (for :class:`dgmcore.models.Model`)."""
        return [self.prior, self.q, self.p, self.f]

    def loss(self) -> Loss:
        """The negative ELBO of each sequence (the masked sum over its frames)."""
        step = KullbackLeibler(self.q, self.prior) - self.p.log_prob().expectation(self.q * self.f)
        return IterativeLoss(step, series_var=["x"], update_value={"h": "h_prev"}, mask_var="mask")

    def inputs(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The ``x_dict`` of :meth:`loss`: frames, mask (all ones by default), ``h_0 = 0``."""
        if mask is None:
            mask = x.new_ones(x.shape[:2])
        return {"x": x, "mask": mask, "h_prev": x.new_zeros(x.shape[0], self.h_dim)}

    @torch.no_grad()
    def generate(self, n: int, steps: int) -> dict[str, torch.Tensor]:
        """``n`` sequences from the model: ``z``, ``x``, ``h`` and ``probs`` (batch first)."""
        h0 = torch.zeros(n, self.h_dim)
        out = rollout(self.f * self.p * self.prior, steps, {"h_prev": h0}, update_value={"h": "h_prev"})
        h_prev = torch.cat([h0.unsqueeze(1), out["h"][:, :-1]], 1)
        out["probs"] = torch.sigmoid(self.p.net(torch.cat([self.phi_z(out["z"]), h_prev], -1)))
        return out
