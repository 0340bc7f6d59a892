"""Test families and small networks for the loss tests.

The families (tests/families.py) are defined over ``torch.distributions``, exactly as a
third-party plugin would define them: the core ships none, and these tests must
not depend on the families plugin. Networks get fixed weights from a seeded
generator, so every reference computation sees the same numbers.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from tests.families import Bernoulli, Normal


def seeded_linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    """An ``nn.Linear`` whose weights depend only on ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    lin = nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(n_out, n_in, generator=gen) / n_in**0.5)
        lin.bias.copy_(0.1 * torch.randn(n_out, generator=gen))
    return lin


class Encoder(Normal):
    """q(z|x): a one-hidden-layer network giving loc and scale; counts its calls."""

    def __init__(self, x_dim: int = 6, z_dim: int = 2, hidden: int = 8, seed: int = 1, **kw) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q", **kw)
        self.fc1 = seeded_linear(x_dim, hidden, seed)
        self.fc2 = seeded_linear(hidden, 2 * z_dim, seed + 1)
        self.z_dim = z_dim
        self.calls = 0

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        h = self.fc2(torch.tanh(self.fc1(x)))
        return {"loc": h[..., : self.z_dim], "scale": F.softplus(h[..., self.z_dim :]) + 1e-3}


class Decoder(Bernoulli):
    """p(x|z): Bernoulli logits from a one-hidden-layer network; counts its calls."""

    def __init__(self, x_dim: int = 6, z_dim: int = 2, hidden: int = 8, seed: int = 3) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.fc1 = seeded_linear(z_dim, hidden, seed)
        self.fc2 = seeded_linear(hidden, x_dim, seed + 1)
        self.calls = 0

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        self.calls += 1
        return {"logits": self.fc2(torch.tanh(self.fc1(z)))}


def make_vae(x_dim: int = 6, z_dim: int = 2, batch: int = 5) -> SimpleNamespace:
    """Encoder, decoder, standard-normal prior and a fixed binary batch."""
    gen = torch.Generator().manual_seed(7)
    return SimpleNamespace(
        q=Encoder(x_dim, z_dim),
        p=Decoder(x_dim, z_dim),
        prior=Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[z_dim], name="p_{prior}"),
        x=torch.bernoulli(torch.full((batch, x_dim), 0.4), generator=gen),
        x_dim=x_dim,
        z_dim=z_dim,
    )


class PlainEncoder(Encoder):
    """The test encoder without its call counter (a counter is state dynamo would guard on)."""

    def forward(self, x):
        h = self.fc2(torch.tanh(self.fc1(x)))
        return {"loc": h[..., :2], "scale": F.softplus(h[..., 2:]) + 1e-3}


class PlainDecoder(Decoder):
    def forward(self, z):
        return {"logits": self.fc2(torch.tanh(self.fc1(z)))}


def plain_vae(batch=5):
    v = make_vae(batch=batch)
    v.q, v.p = PlainEncoder(), PlainDecoder()
    return v


@pytest.fixture
def vae() -> SimpleNamespace:
    return make_vae()


def grads(modules) -> list[torch.Tensor]:
    """Copies of the gradients of every parameter (zeros where there is none); clears them."""
    out = []
    for m in modules:
        for p in m.parameters():
            out.append(torch.zeros_like(p) if p.grad is None else p.grad.clone())
            p.grad = None
    return out
