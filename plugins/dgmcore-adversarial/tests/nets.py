"""Small generators and discriminators shared by the tests."""

from __future__ import annotations

import torch
from dgmcore_families import Normal
from torch import nn

from dgmcore.distributions import Deterministic, Distribution


class Generator(Deterministic):
    """p(x|z): an MLP."""

    def __init__(self, z_dim: int = 2, x_dim: int = 3, hidden: int = 16, name: str = "p") -> None:
        super().__init__(var=["x"], cond_var=["z"], name=name)
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, x_dim))

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"x": self.net(z)}


class Discriminator(Deterministic):
    """d(t|x): an MLP, ending in a sigmoid unless it is a critic."""

    def __init__(self, x_dim: int = 3, hidden: int = 16, sigmoid: bool = True, var: str = "x",
                 out: int = 1, extra: tuple[str, ...] = ()) -> None:
        super().__init__(var=["t"], cond_var=[var, *extra], name="d")
        self.var_name, self.extra = var, extra
        layers: list[nn.Module] = [nn.Linear(x_dim + len(extra), hidden), nn.ReLU(), nn.Linear(hidden, out)]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        h = torch.cat([inputs[self.var_name], *[inputs[e] for e in self.extra]], dim=-1)
        return {"t": self.net(h)}


def generator_model(z_dim: int = 2, x_dim: int = 3) -> tuple[Generator, Distribution]:
    """A generator network and its marginal p(x) = int p(x|z) p(z) dz."""
    g = Generator(z_dim, x_dim)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[z_dim], name="p_{prior}")
    return g, (g * prior).marginalize_var("z")
