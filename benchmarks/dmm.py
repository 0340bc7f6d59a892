"""The deep Markov model training step (the paper's Table 2): hand-written and dgmcore.

The DMM of Krishnan, Shalit and Sontag (2017) on 88-d binary frames (piano
rolls), batch first, ``x`` of shape ``(batch, T, 88)``:

* a GRU reads the sequence backwards: ``h_t`` summarises ``x_{t:T}``;
* ``q(z_t|z_{t-1}, h_t) = N(loc, softplus(.))`` of ``(tanh(W z_{t-1}) + h_t) / 2``;
* ``p(z_t|z_{t-1}) = N(loc, softplus(.))`` of an MLP, ``z_0 = 0``;
* ``p(x_t|z_t) = Bernoulli(logits)`` of an MLP.

With ``decoder="probs"`` the emitter ends with ``torch.sigmoid`` (``probs``) and
the posterior's scale comes from ``exp``, as the Pixyz and Pyro examples write them.

The objective is the sum over time of the per-step VAE objective (analytic KL
or the single-sample Monte-Carlo ELBO), averaged over the batch. The dgmcore
columns write it as a DMM user does, with dgmcore-timeseries'
:class:`~dgmcore_timeseries.IterativeLoss` over the frames, in expectation
over the backward RNN; the hand-written twin takes the very same steps. The
``dgmcore unrolled`` column keeps the Python loop over core losses that the
suite timed before the plugin existed (:class:`Unrolled`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from dgmcore_timeseries import IterativeLoss
from torch import nn
from torch.nn import functional as F

import dgmcore
from benchmarks.harness import Column, Inputs
from benchmarks.vae import bernoulli_nll, normal_log_prob
from dgmcore.distributions import Bernoulli, Deterministic, Normal
from dgmcore.losses import ELBO, KullbackLeibler, Loss
from dgmcore.models import Model

__all__ = ["DMMConfig", "Networks", "make_networks", "make_inputs", "hand_columns", "dgmcore_columns"]


@dataclass(frozen=True)
class DMMConfig:
    """Sizes of one DMM benchmark case (network widths after Krishnan et al.)."""

    T: int
    z_dim: int
    x_dim: int = 88
    batch: int = 20
    rnn_dim: int = 200
    transition_dim: int = 200
    emission_dim: int = 100
    lr: float = 1e-3
    #: "logits" (softplus scales, Bernoulli logits) or "probs" (exp posterior scale, sigmoid probs)
    decoder: str = "logits"

    @property
    def label(self) -> str:
        tail = ", probs" if self.decoder == "probs" else ""
        return f"T {self.T}, latent {self.z_dim}{tail}"


class Combiner(nn.Module):
    """(z_{t-1}, h_t) -> (loc, scale) of q(z_t|z_{t-1}, h_t)."""

    def __init__(self, cfg: DMMConfig) -> None:
        super().__init__()
        self.z_to_h = nn.Linear(cfg.z_dim, cfg.rnn_dim)
        self.loc = nn.Linear(cfg.rnn_dim, cfg.z_dim)
        self.scale = nn.Linear(cfg.rnn_dim, cfg.z_dim)
        self.positive = torch.exp if cfg.decoder == "probs" else F.softplus

    def forward(self, z_prev: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hc = 0.5 * (torch.tanh(self.z_to_h(z_prev)) + h)
        return self.loc(hc), self.positive(self.scale(hc))


class Transition(nn.Module):
    """z_{t-1} -> (loc, scale) of p(z_t|z_{t-1})."""

    def __init__(self, cfg: DMMConfig) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(cfg.z_dim, cfg.transition_dim), nn.ReLU())
        self.loc = nn.Linear(cfg.transition_dim, cfg.z_dim)
        self.scale = nn.Linear(cfg.transition_dim, cfg.z_dim)

    def forward(self, z_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.body(z_prev)
        return self.loc(g), F.softplus(self.scale(g))


class Emitter(nn.Module):
    """z_t -> Bernoulli logits of p(x_t|z_t) (probs, through a sigmoid, with ``decoder="probs"``)."""

    def __init__(self, cfg: DMMConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Linear(cfg.z_dim, cfg.emission_dim), nn.ReLU(),
            nn.Linear(cfg.emission_dim, cfg.emission_dim), nn.ReLU(),
            nn.Linear(cfg.emission_dim, cfg.x_dim),
        ]
        if cfg.decoder == "probs":
            layers.append(nn.Sigmoid())
        self.body = nn.Sequential(*layers)
        self.gives = cfg.decoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


class BackwardRNN(nn.Module):
    """x -> h: a GRU run from the last frame to the first."""

    def __init__(self, cfg: DMMConfig) -> None:
        super().__init__()
        self.gru = nn.GRU(cfg.x_dim, cfg.rnn_dim, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(x.flip(1))
        return h.flip(1)


Networks = tuple[BackwardRNN, Combiner, Transition, Emitter]


def make_networks(cfg: DMMConfig, seed: int = 0) -> Networks:
    """The reference weights every column copies."""
    torch.manual_seed(seed)
    return BackwardRNN(cfg), Combiner(cfg), Transition(cfg), Emitter(cfg)


def make_inputs(cfg: DMMConfig) -> Inputs:
    """A fresh batch of binary sequences."""
    return {"x": torch.bernoulli(torch.full((cfg.batch, cfg.T, cfg.x_dim), 0.1))}


# -- hand-written PyTorch -------------------------------------------------------------


def hand_step_loss(
    out: torch.Tensor,
    x: torch.Tensor,
    z: torch.Tensor,
    q: tuple[torch.Tensor, torch.Tensor],
    p: tuple[torch.Tensor, torch.Tensor],
    analytic: bool,
    gives: str = "logits",
) -> torch.Tensor:
    """One frame's objective; ``out`` the emitter's; ``q``, ``p``: (loc, scale) of posterior and prior."""
    nll = bernoulli_nll(out, x, gives).sum(-1)
    (loc, scale), (p_loc, p_scale) = q, p
    if analytic:
        kl = (p_scale.log() - scale.log() + (scale**2 + (loc - p_loc) ** 2) / (2 * p_scale**2) - 0.5).sum(-1)
    else:
        kl = normal_log_prob(z, loc, scale) - normal_log_prob(z, p_loc, p_scale)
    return kl + nll


def hand_loss(nets: Networks, x: torch.Tensor, analytic: bool) -> torch.Tensor:
    """The unrolled objective written directly in PyTorch."""
    rnn, combiner, transition, emitter = nets
    h = rnn(x)
    z = x.new_zeros(x.shape[0], combiner.loc.out_features)
    total = x.new_zeros(())
    for t in range(x.shape[1]):
        prior = transition(z)
        loc, scale = combiner(z, h[:, t])
        z = loc + scale * torch.randn_like(loc)
        total = total + hand_step_loss(emitter(z), x[:, t], z, (loc, scale), prior, analytic, emitter.gives)
    return total.mean()


def hand_columns(cfg: DMMConfig, nets: Networks) -> list[Column]:
    """Hand-written PyTorch: one column per objective."""
    out = []
    for group in ("analytic", "mc"):
        mine = copy.deepcopy(nets)
        opt = torch.optim.Adam([p for m in mine for p in m.parameters()], lr=cfg.lr)
        analytic = group == "analytic"

        def loss(x: Inputs, mine=mine, analytic=analytic) -> torch.Tensor:
            return hand_loss(mine, x["x"], analytic)

        def step(x: Inputs, loss=loss, opt=opt) -> None:
            opt.zero_grad(set_to_none=True)
            loss(x).backward()
            opt.step()

        name = "hand-written" if analytic else "hand-written MC"
        out.append(Column(name, group, step, loss, list(mine)))
    return out


# -- dgmcore ----------------------------------------------------------------------------


class RNN(Deterministic):
    """h = GRU(x), the backward summaries."""

    def __init__(self, net: BackwardRNN) -> None:
        super().__init__(var=["h"], cond_var=["x"], name="f")
        self.net = net

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"h": self.net(x)}


class Inference(Normal):
    """q(z|z_prev, h)."""

    def __init__(self, net: Combiner) -> None:
        super().__init__(var=["z"], cond_var=["z_prev", "h"], name="q")
        self.net = net

    def forward(self, z_prev: torch.Tensor, h: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(z_prev, h)
        return {"loc": loc, "scale": scale}


class Prior(Normal):
    """p(z|z_prev)."""

    def __init__(self, net: Transition) -> None:
        super().__init__(var=["z"], cond_var=["z_prev"], name="p")
        self.net = net

    def forward(self, z_prev: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(z_prev)
        return {"loc": loc, "scale": scale}


class Generator(Bernoulli):
    """p(x|z)."""

    def __init__(self, net: Emitter) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.net = net

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {self.net.gives: self.net(z)}


class Unrolled(Loss):
    """:math:`\\sum_t` ``step`` over the frames, carrying ``z_prev`` from step to step.

    ``step`` is evaluated on ``x_t``, ``h_t`` and ``z_prev``; the ``z`` it draws
    becomes the next ``z_prev``. The step draws with ``sample_shape=()`` (one
    sample, no sample dimension), so that the carried ``z`` keeps the shape of
    ``z_prev``.
    """

    def __init__(self, rnn: RNN, step: Loss, z_dim: int, squeeze: bool = False) -> None:
        super().__init__(["x"])
        self.rnn, self.step, self.z_dim, self.squeeze = rnn, step, z_dim, squeeze

    def _eval(self, x: dict, samples: dict | None) -> torch.Tensor:
        xs = x["x"]
        h = self.rnn.sample({"x": xs}, return_all=False)["h"]
        z = xs.new_zeros(xs.shape[0], self.z_dim)
        total = xs.new_zeros(())
        for t in range(xs.shape[1]):
            value, drawn = self.step.eval(
                {"x": xs[:, t], "h": h[:, t], "z_prev": z}, return_dict=True, return_all=False
            )
            z = drawn["z"][0] if self.squeeze else drawn["z"]
            total = total + value
        return total

    def _text(self) -> str:
        return f"sum_t {self.step._text()}"


def dgmcore_model(
    cfg: DMMConfig, nets: Networks, group: str, sample_shape: tuple[int, ...] = (), unrolled: bool = False
) -> Model:
    """The DMM as a dgmcore user writes it: ``IterativeLoss`` over the frames (or, with
    ``unrolled``, the hand-made loop over core losses of :class:`Unrolled`)."""
    rnn_net, combiner, transition, emitter = copy.deepcopy(nets)
    rnn, q, prior, p = RNN(rnn_net), Inference(combiner), Prior(transition), Generator(emitter)
    if group == "analytic":
        step = KullbackLeibler(q, prior) - p.log_prob().expectation(q, sample_shape=sample_shape)
    else:
        step = -ELBO(p * prior, q, sample_shape=sample_shape)
    if unrolled:
        loss = Unrolled(rnn, step, cfg.z_dim, squeeze=len(sample_shape) > 0).mean()
    else:
        frames = IterativeLoss(step, series_var=["x", "h"], update_value={"z": "z_prev"})
        loss = frames.expectation(rnn).mean()
    return Model(loss, distributions=[rnn, q, prior, p], optimizer_params={"lr": cfg.lr})


def with_initial_state(z_dim: int) -> Callable[[Inputs], Inputs]:
    """The inputs plus ``z_prev = 0``, the carried state of the first frame."""

    def inputs(x: Inputs) -> Inputs:
        return {"x": x["x"], "z_prev": x["x"].new_zeros(x["x"].shape[0], z_dim)}

    return inputs


def dgmcore_columns(cfg: DMMConfig, nets: Networks) -> list[Column]:
    """dgmcore with ``IterativeLoss``: analytic and Monte-Carlo KL, memo on and off; and the unrolled loop."""
    out = []
    inputs = with_initial_state(cfg.z_dim)
    for group, label in (("analytic", "analytic"), ("mc", "MC")):
        for memo in (True, False):
            model = dgmcore_model(cfg, nets, group)
            name = f"dgmcore {label}" + ("" if memo else ", memo off")

            def step(x: Inputs, model: Model = model) -> Any:
                return model.train(inputs(x))

            def value(x: Inputs, model: Model = model) -> Any:
                return model.loss_cls.eval(inputs(x))

            out.append(
                Column(
                    name, group, step, value, [d.net for d in model.distributions],
                    context=None if memo else dgmcore.memo.disabled,
                )
            )
        model = dgmcore_model(cfg, nets, group, unrolled=True)
        out.append(Column(f"dgmcore unrolled {label}", group, model.train, model.loss_cls.eval,
                          [d.net for d in model.distributions]))
    return out
