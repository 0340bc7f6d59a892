"""What the bad-input suite calls: distributions, joints, losses and models, built fresh per case.

Every target is built anew for each case, so that no case sees what an
earlier one left behind (a cache filled on first use would otherwise make
results depend on the order of the cases). Each comes with an independent
reference for valid inputs: the user's ``forward`` called directly and
``torch.distributions`` objects built by hand, never the library's own
machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.distributions import Bernoulli as TBernoulli
from torch.distributions import Normal as TNormal
from torch.nn import functional as F

from dgmcore.distributions import Deterministic
from tests.families import Normal
from tests.losses.conftest import Decoder, Encoder, seeded_linear

X_DIM, Z_DIM = 6, 2

Ref = Callable[[Any, dict[str, torch.Tensor]], dict[str, torch.distributions.Distribution]]


@dataclass
class Target:
    """A distribution to call, its variables and features, and the reference densities."""

    name: str
    build: Callable[[], Any]
    inputs: tuple[str, ...]  # what it conditions on
    values: tuple[str, ...]  # what it generates
    features: dict[str, tuple[int, ...]]
    ref: Ref  # (the built distribution, x_dict) -> one torch distribution per generated variable
    network: bool = False  # inputs go through a network (a bad one raises inside forward)
    declared: bool = True  # features_shape declared on every factor with inputs
    binary: tuple[str, ...] = ()  # variables whose values are 0/1
    renamed: bool = False  # built by replace_var

    def data(self, batch: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        out = {}
        for v in self.inputs + self.values:
            t = torch.randn((batch, *self.features[v]), generator=gen)
            out[v] = (t > 0).float() if v in self.binary else t
        return out


def _prior() -> Normal:
    return Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z_DIM], name="p_{prior}")


def _encoder_ref(q: Any, x: dict) -> dict:
    params = q.forward(x["x"])
    return {"z": TNormal(params["loc"], params["scale"])}


def _decoder_ref(p: Any, x: dict) -> dict:
    return {"x": TBernoulli(logits=p.forward(x["z"])["logits"])}


class _DeclaredEncoder(Encoder):
    def __init__(self) -> None:
        super().__init__(features_shape=[Z_DIM])


def _joint() -> Any:
    return Decoder() * _prior()


def _joint_reference(joint: Any, x: dict) -> dict:
    decoder = joint.graph.nodes["x"]["factor"]  # DESIGN.md 3: the factor generating a variable
    return {"x": TBernoulli(logits=decoder.forward(x["z"])["logits"]), "z": TNormal(torch.zeros(Z_DIM), 1.0)}


class Double(Deterministic):
    """h = 2 z: a deterministic factor, sampling runs the forward."""

    def __init__(self) -> None:
        super().__init__(var=["h"], cond_var=["z"], name="f")

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"h": 2 * z}


class _Point(torch.distributions.Distribution):
    """A point mass, as the reference for a deterministic variable (its mean is the value)."""

    arg_constraints: dict = {}

    def __init__(self, value: torch.Tensor) -> None:
        self.value = value
        super().__init__(validate_args=False)

    @property
    def mean(self) -> torch.Tensor:
        return self.value


TARGETS = [
    Target(
        "constant",
        lambda: Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3]),
        (),
        ("x",),
        {"x": (3,)},
        lambda d, x: {"x": TNormal(torch.zeros(3), 1.0)},
    ),
    Target(
        "conditioned",
        lambda: Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"], features_shape=[3]),
        ("m",),
        ("x",),
        {"x": (3,), "m": (3,)},
        lambda d, x: {"x": TNormal(x["m"], 1.0)},
    ),
    Target(
        "renamed",
        lambda: Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"], features_shape=[3]).replace_var(
            x="y", m="w"
        ),
        ("w",),
        ("y",),
        {"y": (3,), "w": (3,)},
        lambda d, x: {"y": TNormal(x["w"], 1.0)},
        renamed=True,
    ),
    Target(
        "encoder",
        _DeclaredEncoder,
        ("x",),
        ("z",),
        {"x": (X_DIM,), "z": (Z_DIM,)},
        _encoder_ref,
        network=True,
    ),
    Target(
        "encoder-undeclared",
        Encoder,
        ("x",),
        ("z",),
        {"x": (X_DIM,), "z": (Z_DIM,)},
        _encoder_ref,
        network=True,
        declared=False,
    ),
    Target(
        "decoder-undeclared",
        Decoder,
        ("z",),
        ("x",),
        {"x": (X_DIM,), "z": (Z_DIM,)},
        _decoder_ref,
        network=True,
        declared=False,
        binary=("x",),
    ),
    Target(
        "deterministic",
        Double,
        ("z",),
        ("h",),
        {"z": (Z_DIM,), "h": (Z_DIM,)},
        lambda d, x: {"h": _Point(2 * x["z"])},
        declared=False,
    ),
    Target(
        "joint",
        _joint,
        (),
        ("x", "z"),
        {"x": (X_DIM,), "z": (Z_DIM,)},
        _joint_reference,
        network=True,
        declared=False,
        binary=("x",),
    ),
]


class BatchNormEncoder(Normal):
    """q(z|x) with a batch norm inside: a failed step must not change its running statistics."""

    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q", features_shape=[Z_DIM])
        self.fc1, self.bn, self.fc2 = seeded_linear(X_DIM, 8, 1), nn.BatchNorm1d(8), seeded_linear(8, 4, 2)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.fc2(torch.tanh(self.bn(self.fc1(x))))
        return {"loc": h[..., :Z_DIM], "scale": F.softplus(h[..., Z_DIM:]) + 1e-3}
