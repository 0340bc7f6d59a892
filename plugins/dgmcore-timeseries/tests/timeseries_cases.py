"""A small state-space model shared by the tests, written twice: with dgmcore and by hand.

``z_t = loc + scale * eps_t`` with ``(loc, scale)`` of ``q(z_t|z_{t-1}, x_t)``
and the noise ``eps`` given as a series, so every form of the objective is
deterministic and comparable with a hand-written loop on the same noise.
"""

from __future__ import annotations

import torch
from dgmcore_families import Bernoulli, Normal
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Deterministic

X, Z = 5, 3


class Nets(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(Z + X, 2 * Z)
        self.prior = nn.Linear(Z, 2 * Z)
        self.emit = nn.Linear(Z, X)

    def posterior(self, z_prev: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loc, s = self.q(torch.cat([z_prev, x], -1)).chunk(2, -1)
        return loc, F.softplus(s) + 1e-3

    def transition(self, z_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loc, s = self.prior(z_prev).chunk(2, -1)
        return loc, F.softplus(s) + 1e-3


class Posterior(Normal):
    def __init__(self, nets: Nets) -> None:
        super().__init__(var=["z"], cond_var=["z_prev", "x"], name="q")
        self.nets = nets

    def forward(self, z_prev: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.nets.posterior(z_prev, x)
        return {"loc": loc, "scale": scale}


class Draw(Deterministic):
    """z = loc + scale * eps, the reparameterised draw of q on given noise."""

    def __init__(self, nets: Nets) -> None:
        super().__init__(var=["z"], cond_var=["z_prev", "x", "eps"], name="f")
        self.nets = nets

    def forward(self, z_prev: torch.Tensor, x: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.nets.posterior(z_prev, x)
        return {"z": loc + scale * eps}


class Prior(Normal):
    def __init__(self, nets: Nets) -> None:
        super().__init__(var=["z"], cond_var=["z_prev"], name="p")
        self.nets = nets

    def forward(self, z_prev: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.nets.transition(z_prev)
        return {"loc": loc, "scale": scale}


class Emitter(Bernoulli):
    def __init__(self, nets: Nets) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.nets = nets

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.nets.emit(z)}


def model(nets: Nets) -> tuple[Posterior, Draw, Prior, Emitter]:
    return Posterior(nets), Draw(nets), Prior(nets), Emitter(nets)


def data(batch: int = 4, steps: int = 6) -> dict[str, torch.Tensor]:
    return {
        "x": torch.bernoulli(torch.full((batch, steps, X), 0.4)),
        "eps": torch.randn(batch, steps, Z),
        "z_prev": torch.zeros(batch, Z),
    }


def hand_loss(nets: Nets, x: torch.Tensor, eps: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """sum_t KL(q_t || p_t) + BCE(x_t; emit(z_t)) per sequence, written directly."""
    total = x.new_zeros(x.shape[0])
    for t in range(x.shape[1]):
        q = torch.distributions.Normal(*nets.posterior(z, x[:, t]))
        p = torch.distributions.Normal(*nets.transition(z))
        z = q.loc + q.scale * eps[:, t]
        kl = torch.distributions.kl_divergence(q, p).sum(-1)
        nll = F.binary_cross_entropy_with_logits(nets.emit(z), x[:, t], reduction="none").sum(-1)
        total = total + kl + nll
    return total
