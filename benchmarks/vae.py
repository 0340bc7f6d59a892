"""The VAE training step (the paper's Table 1): hand-written PyTorch and dgmcore.

The model is the VAE of Kingma and Welling (2014) on 784-d binary inputs with
one hidden layer in each network: ``q(z|x) = N(loc(x), softplus(.)(x))``,
``p(x|z) = Bernoulli(logits(z))``, ``p(z) = N(0, I)``. With ``decoder="probs"``
the networks end as Pixyz's and Pyro's examples (and the paper's Figure 3)
write them: the decoder with ``torch.sigmoid``, giving ``probs``, and the
encoder's scale from ``exp``. Two objectives:

* analytic: :math:`D_{KL}[q(z|x)\\|p(z)] - \\mathbb{E}_{q(z|x)}[\\log p(x|z)]`,
  the KL in closed form, one sample of ``z``;
* Monte-Carlo: :math:`-\\mathbb{E}_{q(z|x)}[\\log p(x|z) + \\log p(z) - \\log q(z|x)]`,
  the single-sample ELBO (what Pyro's ``Trace_ELBO`` computes).

Both are averaged over the batch and optimised with Adam. Every column starts
from the same weights: :func:`make_networks` seeds them, each column copies.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch._inductor.config
from torch import nn
from torch.nn import functional as F

import dgmcore
from benchmarks.harness import Column, Inputs
from dgmcore.distributions import Bernoulli, Normal
from dgmcore.losses import ELBO, KullbackLeibler
from dgmcore.models import Model

__all__ = [
    "VAEConfig", "bernoulli_nll", "make_networks", "make_inputs", "normal_log_prob", "hand_columns",
    "dgmcore_columns",
]

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class VAEConfig:
    """Sizes of one VAE benchmark case."""

    hidden: int
    z_dim: int
    x_dim: int = 784
    batch: int = 128
    lr: float = 1e-3
    #: "logits" (softplus scale, Bernoulli logits) or "probs" (exp scale, sigmoid probs)
    decoder: str = "logits"

    @property
    def label(self) -> str:
        tail = ", probs" if self.decoder == "probs" else ""
        return f"hidden {self.hidden}, latent {self.z_dim}{tail}"


class EncoderNet(nn.Module):
    """x -> (loc, scale) of q(z|x)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(cfg.x_dim, cfg.hidden), nn.ReLU())
        self.loc = nn.Linear(cfg.hidden, cfg.z_dim)
        self.scale = nn.Linear(cfg.hidden, cfg.z_dim)
        self.positive = torch.exp if cfg.decoder == "probs" else F.softplus

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.loc(h), self.positive(self.scale(h))


class DecoderNet(nn.Module):
    """z -> Bernoulli logits of p(x|z) (probs, through a sigmoid, with ``decoder="probs"``)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Linear(cfg.z_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.x_dim),
        ]
        if cfg.decoder == "probs":
            layers.append(nn.Sigmoid())
        self.body = nn.Sequential(*layers)
        self.gives = cfg.decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


def bernoulli_nll(out: torch.Tensor, x: torch.Tensor, gives: str) -> torch.Tensor:
    """The binary cross-entropy of a decoder's output, logits or probs, elementwise."""
    if gives == "probs":
        return F.binary_cross_entropy(out, x, reduction="none")
    return F.binary_cross_entropy_with_logits(out, x, reduction="none")


def make_networks(cfg: VAEConfig, seed: int = 0) -> tuple[EncoderNet, DecoderNet]:
    """The reference weights every column copies."""
    torch.manual_seed(seed)
    return EncoderNet(cfg), DecoderNet(cfg)


def make_inputs(cfg: VAEConfig) -> Inputs:
    """A fresh batch of binary "images"."""
    return {"x": torch.bernoulli(torch.full((cfg.batch, cfg.x_dim), 0.5))}


# -- hand-written PyTorch -------------------------------------------------------------


def normal_log_prob(value: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """log N(value; loc, scale), features (the last dimension) summed."""
    return (-0.5 * ((value - loc) / scale) ** 2 - scale.log() - LOG_SQRT_2PI).sum(-1)


def hand_loss(enc: EncoderNet, dec: DecoderNet, x: torch.Tensor, analytic: bool) -> torch.Tensor:
    """The objective written directly in PyTorch."""
    loc, scale = enc(x)
    z = loc + scale * torch.randn_like(loc)
    nll = bernoulli_nll(dec(z), x, dec.gives).sum(-1)
    if analytic:
        kl = (0.5 * (scale**2 + loc**2 - 1) - scale.log()).sum(-1)
    else:  # log q(z|x) - log p(z) at the sample
        kl = normal_log_prob(z, loc, scale) + (0.5 * z**2 + LOG_SQRT_2PI).sum(-1)
    return (kl + nll).mean()


def hand_columns(cfg: VAEConfig, nets: tuple[nn.Module, nn.Module]) -> list[Column]:
    """Hand-written PyTorch: one column per objective."""
    out = []
    for group in ("analytic", "mc"):
        enc, dec = copy.deepcopy(nets)
        opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=cfg.lr)
        analytic = group == "analytic"

        def loss(x: Inputs, enc=enc, dec=dec, analytic=analytic) -> torch.Tensor:
            return hand_loss(enc, dec, x["x"], analytic)

        def step(x: Inputs, loss=loss, opt=opt) -> None:
            opt.zero_grad(set_to_none=True)
            loss(x).backward()
            opt.step()

        name = "hand-written" if analytic else "hand-written MC"
        out.append(Column(name, group, step, loss, [enc, dec]))
    return out


# -- dgmcore ----------------------------------------------------------------------------


class Encoder(Normal):
    """q(z|x) around a shared :class:`EncoderNet`."""

    def __init__(self, net: EncoderNet) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.net = net

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(x)
        return {"loc": loc, "scale": scale}


class Decoder(Bernoulli):
    """p(x|z) around a shared :class:`DecoderNet`."""

    def __init__(self, net: DecoderNet) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.net = net

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.net.gives: self.net(z)}


def dgmcore_model(
    cfg: VAEConfig, nets: tuple[nn.Module, nn.Module], group: str, compile: bool = False
) -> Model:
    """The VAE as a dgmcore user writes it (``compile``: through ``loss.compile()``)."""
    enc, dec = copy.deepcopy(nets)
    q, p = Encoder(enc), Decoder(dec)
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[cfg.z_dim], name="p_prior")
    if group == "analytic":
        loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    else:
        loss = -ELBO(p * prior, q).mean()
    if compile:
        # the compiled graph draws its noise with eager's kernels, so that it can be checked
        # against the other columns (and pays the same price for it)
        torch._inductor.config.fallback_random = True
        loss = loss.compile()
    return Model(loss, distributions=[q, p], optimizer_params={"lr": cfg.lr})


def model_column(name: str, group: str, model: Model, memo: bool = True) -> Column:
    """A column around a dgmcore :class:`Model` (its ``train`` is the step)."""
    q, p = model.distributions
    return Column(
        name,
        group,
        model.train,
        model.loss_cls.eval,
        [q.net, p.net],
        context=None if memo else dgmcore.memo.disabled,
    )


def dgmcore_columns(cfg: VAEConfig, nets: tuple[nn.Module, nn.Module], compile: bool = True) -> list[Column]:
    """dgmcore: analytic and Monte-Carlo KL, memo on and off, and ``loss.compile()``."""
    out = []
    for group, label in (("analytic", "analytic"), ("mc", "MC")):
        for memo in (True, False):
            name = f"dgmcore {label}" + ("" if memo else ", memo off")
            out.append(model_column(name, group, dgmcore_model(cfg, nets, group), memo))
    if compile:
        model = dgmcore_model(cfg, nets, "analytic", compile=True)
        out.append(model_column("dgmcore compiled", "analytic", model))
    return out
