"""A GAN training step: dgmcore-adversarial against the same two steps written by hand in PyTorch.

One step is a discriminator step followed by a generator step, on 784-d inputs
in [0, 1], batch 128, MLPs with one hidden layer of 400 units, Adam:

* hand-written: the discriminator step draws ``z``, makes the fakes under
  ``torch.no_grad()`` and minimises ``BCE(D(fake), 1) + BCE(D(x), 0)``; the
  generator step draws a fresh ``z`` and minimises ``BCE(D(G(z)), 0)``, the
  non-saturating loss, as a careful PyTorch user writes them (the
  discriminator's weight gradients computed in the generator's backward are
  discarded by the next ``zero_grad``);
* dgmcore: ``adv = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), d)``,
  ``adv.train(x)`` then ``Model(adv.mean(), [g]).train(x)``. Its generator term
  is the whole formula, so it also scores the data batch (a term without
  gradient); it freezes the discriminator's weights, so no weight gradient of
  the discriminator is computed in the generator's step.

Both columns start from the same weights and draw their noise in the same
order, so :func:`check` compares their losses and their parameters after a
step exactly. Timing: :func:`benchmarks.harness.interleave`, with each column
on a random stream of its own (:func:`own_noise`) and on the same sequence of
data batches (:func:`own_data`), so that both train along one trajectory and
each paired ratio compares the same stretch of training; glibc keeps freed
memory in the process (:mod:`benchmarks.allocator`), as in the main suites.

    python -m benchmarks.gan [--rounds 40] [--threads 1] [--check]
"""

from __future__ import annotations

import argparse
import copy
import sys
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.harness import Column, Inputs, interleave

__all__ = ["GANConfig", "check", "columns", "main", "make_inputs"]


@dataclass(frozen=True)
class GANConfig:
    """Sizes of the GAN benchmark."""

    x_dim: int = 784
    z_dim: int = 64
    hidden: int = 400
    batch: int = 128
    lr: float = 2e-4

    @property
    def label(self) -> str:
        return f"GAN, MLP {self.z_dim}-{self.hidden}-{self.x_dim}, batch {self.batch}"


def make_networks(cfg: GANConfig) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    h = cfg.hidden
    g = nn.Sequential(nn.Linear(cfg.z_dim, h), nn.ReLU(), nn.Linear(h, cfg.x_dim), nn.Sigmoid())
    d = nn.Sequential(nn.Linear(cfg.x_dim, h), nn.LeakyReLU(0.2), nn.Linear(h, 1), nn.Sigmoid())
    return g, d


def make_inputs(cfg: GANConfig) -> Inputs:
    return {"x": torch.rand(cfg.batch, cfg.x_dim)}


def _adam(module: nn.Module, cfg: GANConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(module.parameters(), lr=cfg.lr, betas=(0.5, 0.999))


def hand_column(cfg: GANConfig, g: nn.Module, d: nn.Module) -> tuple[Column, dict[str, Any]]:
    g, d = copy.deepcopy(g), copy.deepcopy(d)
    g_opt, d_opt = _adam(g, cfg), _adam(d, cfg)
    last: dict[str, Any] = {}

    def step(inputs: Inputs) -> None:
        x = inputs["x"]
        with torch.no_grad():
            fake = g(torch.randn(x.shape[0], cfg.z_dim))
        d_opt.zero_grad(set_to_none=True)
        y_fake, y_real = d(fake), d(x)
        d_loss = F.binary_cross_entropy(y_fake, torch.ones_like(y_fake)) + F.binary_cross_entropy(
            y_real, torch.zeros_like(y_real)
        )
        d_loss.backward()
        d_opt.step()
        g_opt.zero_grad(set_to_none=True)
        y = d(g(torch.randn(x.shape[0], cfg.z_dim)))
        g_loss = F.binary_cross_entropy(y, torch.zeros_like(y))
        g_loss.backward()
        g_opt.step()
        last.update(d_loss=d_loss.detach(), g_loss=g_loss.detach())

    def loss(inputs: Inputs) -> torch.Tensor:  # the generator's loss, for the harness's interface
        return F.binary_cross_entropy(d(g(torch.randn(inputs["x"].shape[0], cfg.z_dim))),
                                      torch.zeros(inputs["x"].shape[0], 1))

    return Column("hand-written", "gan", step, loss, [g, d]), last


def dgmcore_column(cfg: GANConfig, g_net: nn.Module, d_net: nn.Module) -> tuple[Column, dict[str, Any]]:
    from dgmcore_adversarial import AdversarialJensenShannon

    from dgmcore.distributions import Deterministic, EmpiricalDistribution, Normal
    from dgmcore.models import Model

    class Generator(Deterministic):
        def __init__(self) -> None:
            super().__init__(var=["x"], cond_var=["z"], name="p")
            self.net = copy.deepcopy(g_net)

        def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
            return {"x": self.net(z)}

    class Discriminator(Deterministic):
        def __init__(self) -> None:
            super().__init__(var=["t"], cond_var=["x"], name="d")
            self.net = copy.deepcopy(d_net)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
            return {"t": self.net(x)}

    g, d = Generator(), Discriminator()
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[cfg.z_dim], name="p_{prior}")
    p = (g * prior).marginalize_var("z")
    adam = {"lr": cfg.lr, "betas": (0.5, 0.999)}
    adv = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), d, optimizer_params=adam)
    model = Model(adv.mean(), [g], optimizer_params=adam)
    last: dict[str, Any] = {}

    def step(inputs: Inputs) -> None:
        last.update(d_loss=adv.train(inputs), g_loss=model.train(inputs))

    def loss(inputs: Inputs) -> torch.Tensor:
        return adv.mean().eval(inputs)

    return Column("dgmcore", "gan", step, loss, [g.net, d.net]), last


def own_noise(column: Column, seed: int = 1234) -> Column:
    """``column`` drawing from a random stream of its own, seeded alike for every column.

    Both columns then train along the same trajectory (they compute the same
    steps from the same weights), so neither meets states the other does not:
    a GAN's saturating sigmoids and tiny gradients make some stretches of
    training slower than others (denormal floats), and with one shared stream
    the two columns would drift apart and be timed on different stretches.
    Swapping the generator state costs a few microseconds, alike for both.
    """
    state = torch.Generator().manual_seed(seed).get_state()
    step = column.step

    def stepped(inputs: Inputs) -> None:
        nonlocal state
        outer = torch.get_rng_state()
        torch.set_rng_state(state)
        try:
            step(inputs)
        finally:
            state = torch.get_rng_state()
            torch.set_rng_state(outer)

    column.step = stepped
    return column


def own_data(column: Column, batches: list[Inputs]) -> Column:
    """``column`` training on ``batches`` in turn, whatever inputs the timer hands it.

    The timer draws fresh inputs before each block, so the columns would see
    different data and, a GAN being chaotic, drift onto different stretches of
    training, which differ in speed (denormal floats in saturated layers). Each
    column cycles through the same fixed batches instead; the counter costs
    well under a microsecond per step, alike for every column.
    """
    step, i = column.step, 0

    def stepped(inputs: Inputs) -> None:
        nonlocal i
        step(batches[i % len(batches)])
        i += 1

    column.step = stepped
    return column


def columns(cfg: GANConfig, paired_noise: bool = True) -> tuple[list[Column], list[dict[str, Any]]]:
    g, d = make_networks(cfg)
    hand, hand_last = hand_column(cfg, g, d)
    ours, ours_last = dgmcore_column(cfg, g, d)
    if paired_noise:
        hand, ours = own_noise(hand), own_noise(ours)
        generator = torch.Generator().manual_seed(4321)
        batches = [{"x": torch.rand(cfg.batch, cfg.x_dim, generator=generator)} for _ in range(64)]
        hand, ours = own_data(hand, batches), own_data(ours, batches)
    return [hand, ours], [hand_last, ours_last]


def check(cfg: GANConfig, steps: int = 3) -> tuple[bool, str]:
    """Same weights, same noise: equal discriminator losses and equal parameters after each step.

    The generator losses differ by the data term of dgmcore's formula,
    :math:`-\\log d(x)`, which has no gradient in the generator's step.
    """
    cols, lasts = columns(cfg, paired_noise=False)
    data = [make_inputs(cfg) for _ in range(steps)]
    for col in cols:
        torch.manual_seed(1234)
        for x in data:
            col.step(x)
    d_err = max(abs(float(lasts[0]["d_loss"]) - float(lasts[1]["d_loss"])), 0.0)
    p_err = max(
        float((a - b).detach().abs().max())
        for ma, mb in zip(cols[0].modules, cols[1].modules, strict=True)
        for a, b in zip(ma.parameters(), mb.parameters(), strict=True)
    )
    ok = d_err < 1e-5 and p_err < 1e-5
    return ok, (
        f"discriminator loss difference {d_err:.1e}, largest parameter difference after {steps} "
        f"steps {p_err:.1e}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gan", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--check", action="store_true", help="only check that the two columns agree")
    args = parser.parse_args(argv)
    cfg = GANConfig()
    ok, line = check(cfg)
    print(("ok       " if ok else "MISMATCH ") + line, flush=True)
    if args.check or not ok:
        return 0 if ok else 1
    from benchmarks.allocator import keep_freed_memory
    from benchmarks.harness import median_iqr, paired_ratios

    print(keep_freed_memory(), flush=True)
    for threads in args.threads:
        torch.set_num_threads(threads)
        cols, _ = columns(cfg)
        timing = interleave(cols, lambda: make_inputs(cfg), rounds=args.rounds, warmup=args.warmup)
        for clock, data in (("wall", timing.per_round), ("cpu", timing.cpu_per_round)):
            hand, ours = data["hand-written"], data["dgmcore"]
            (h_med, _), (o_med, _) = median_iqr(hand), median_iqr(ours)
            r_med, r_iqr = median_iqr(paired_ratios(ours, hand))
            print(f"{cfg.label}, {threads} thread(s), {clock} clock, {args.rounds} rounds: hand-written "
                  f"{h_med * 1e3:.2f} ms, dgmcore {o_med * 1e3:.2f} ms per step; ratio {r_med:.3f} "
                  f"[IQR {r_iqr:.3f}]", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
