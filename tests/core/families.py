"""Test families for the core tests: thin subclasses of ``ParametricDistribution``.

Families are plugins, so the core tests define their own, exactly as a
third-party plugin would, over ``torch.distributions`` classes.
"""

from __future__ import annotations

import torch
from torch import nn

from dgmcore.distributions import Deterministic
from tests.families import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Gamma,
    Laplace,
    MultivariateNormal,
    Normal,
    Poisson,
)

__all__ = [
    "Bernoulli",
    "Categorical",
    "Doubler",
    "Gamma",
    "Encoder",
    "Decoder",
    "Normal",
    "Poisson",
    "Beta",
    "Laplace",
    "Dirichlet",
    "MultivariateNormal",
]


class Encoder(Normal):
    """q(z|x): a Pixyz-style network distribution that counts its forward calls."""

    def __init__(self, x_dim: int = 4, z_dim: int = 2, name: str = "q", memo: bool = True) -> None:
        super().__init__(var=["z"], cond_var=["x"], name=name, memo=memo)
        self.hidden = nn.Linear(x_dim, 8)
        self.loc = nn.Linear(8, z_dim)
        self.log_scale = nn.Linear(8, z_dim)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        h = torch.tanh(self.hidden(x))
        return {"loc": self.loc(h), "scale": nn.functional.softplus(self.log_scale(h)) + 1e-3}


class Decoder(Bernoulli):
    """p(x|z): Bernoulli logits from a network, counting its forward calls."""

    def __init__(self, x_dim: int = 4, z_dim: int = 2, name: str = "p") -> None:
        super().__init__(var=["x"], cond_var=["z"], name=name)
        self.net = nn.Sequential(nn.Linear(z_dim, 8), nn.Tanh(), nn.Linear(8, x_dim))
        self.calls = 0

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        return {"logits": self.net(z)}


class Doubler(Deterministic):
    """h = 2 z, counting its forward calls."""

    def __init__(self, var: str = "h", cond: str = "z") -> None:
        super().__init__(var=[var], cond_var=[cond], name="f")
        self._out = var
        self.calls = 0

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        (value,) = inputs.values()
        return {self._out: 2 * value}
