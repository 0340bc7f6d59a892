"""Train the deep Markov model on the Bach chorales three ways: dgmcore, hand-written PyTorch, Pyro.

The DMM of Krishnan et al. (2017) (``dgmcore_timeseries.dmm``: emitter, gated
transition, combiner, RNN over the reversed sequence) on the quarter-note piano
rolls of ``dgmcore_timeseries.chorales``. The three trainers start from the same
weights, see the same batches in the same order (bucketed by length, padded,
masked), use Adam with the same settings and the same seed, and minimise the
negative ELBO per frame (analytic KL: ``TraceMeanField_ELBO`` in Pyro). Each
reports the test negative ELBO per frame with its own objective, and its training
time; the three are trained interleaved, one epoch each in turn, so that the
load of a shared machine falls on all three alike.

Usage:
    python examples/dmm_chorales.py [--epochs 40] [--seed 0] [--only dgmcore,hand,pyro]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from dgmcore_timeseries.chorales import batches, corpus_names, independent_keys_nll, load_chorales
from dgmcore_timeseries.dmm import DMM, reverse_padded
from torch.nn import functional as F

from dgmcore.losses import Parameter
from dgmcore.models import Model

Batch = tuple[torch.Tensor, torch.Tensor]  # frames (batch, T, 88), mask (batch, T)


# -- the hand-written twin ------------------------------------------------------------------------


def hand_negative_elbo(model: DMM, x: torch.Tensor, mask: torch.Tensor, beta: float = 1.0) -> torch.Tensor:
    """The masked negative ELBO of each sequence (KL weighted by ``beta``), written directly in PyTorch."""
    lengths = mask.sum(1).long()
    h, _ = model.rnn(reverse_padded(x, lengths))
    h = reverse_padded(h, lengths)
    z = x.new_zeros(x.shape[0], model.z_dim)
    total = x.new_zeros(x.shape[0])
    for t in range(x.shape[1]):
        p_loc, p_scale = model.transition(z)
        loc, scale = model.combiner(z, h[:, t])
        z_new = loc + scale * torch.randn_like(loc)
        kl = (p_scale.log() - scale.log() + (scale**2 + (loc - p_loc) ** 2) / (2 * p_scale**2) - 0.5).sum(-1)
        nll = F.binary_cross_entropy_with_logits(model.emitter(z_new), x[:, t], reduction="none").sum(-1)
        m = mask[:, t]
        total = total + m * (beta * kl + nll)
        z = torch.where(m.bool().unsqueeze(1), z_new, z)
    return total


# -- the three trainers: each gives (step(batch), negative ELBO sum(batch)) ------------------------

Trainer = tuple[Callable[[Batch, float], None], Callable[[Batch], float]]


def dgmcore_trainer(model: DMM, lr: float) -> Trainer:
    nelbo = model.loss()
    per_frame = model.loss(annealed=True).sum() / Parameter("frames")
    trainer = Model(per_frame, distributions=model.distributions, optimizer_params={"lr": lr})

    def step(b: Batch, beta: float) -> None:
        trainer.train({**model.inputs(*b, beta=beta), "frames": float(b[1].sum())})

    def evaluate(b: Batch) -> float:
        with torch.no_grad():
            return float(nelbo.eval(model.inputs(*b)).sum())

    return step, evaluate


def hand_trainer(model: DMM, lr: float) -> Trainer:
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def step(b: Batch, beta: float) -> None:
        opt.zero_grad(set_to_none=True)
        (hand_negative_elbo(model, *b, beta).sum() / b[1].sum()).backward()
        opt.step()

    def evaluate(b: Batch) -> float:
        with torch.no_grad():
            return float(hand_negative_elbo(model, *b).sum())

    return step, evaluate


def pyro_trainer(model: DMM, lr: float) -> Trainer:
    import pyro
    import pyro.distributions as dist
    from pyro import poutine
    from pyro.infer import SVI, TraceMeanField_ELBO

    pyro.clear_param_store()

    def prior(x: torch.Tensor, mask: torch.Tensor, scale: float, beta: float = 1.0) -> None:
        pyro.module("transition", model.transition)
        pyro.module("emitter", model.emitter)
        z = x.new_zeros(x.shape[0], model.z_dim)
        with pyro.plate("pieces", x.shape[0]), poutine.scale(scale=scale):
            for t in pyro.markov(range(x.shape[1])):
                with poutine.mask(mask=mask[:, t].bool()):
                    with poutine.scale(scale=beta):  # KL annealing, on the z sites of model and guide
                        z = pyro.sample(f"z_{t}", dist.Normal(*model.transition(z)).to_event(1))
                    pyro.sample(f"x_{t}", dist.Bernoulli(logits=model.emitter(z)).to_event(1), obs=x[:, t])

    def guide(x: torch.Tensor, mask: torch.Tensor, scale: float, beta: float = 1.0) -> None:
        pyro.module("rnn", model.rnn)
        pyro.module("combiner", model.combiner)
        lengths = mask.sum(1).long()
        h = reverse_padded(model.rnn(reverse_padded(x, lengths))[0], lengths)
        z = x.new_zeros(x.shape[0], model.z_dim)
        with pyro.plate("pieces", x.shape[0]), poutine.scale(scale=scale):
            for t in pyro.markov(range(x.shape[1])):
                with poutine.mask(mask=mask[:, t].bool()), poutine.scale(scale=beta):
                    z = pyro.sample(f"z_{t}", dist.Normal(*model.combiner(z, h[:, t])).to_event(1))

    svi = SVI(prior, guide, pyro.optim.Adam({"lr": lr}), TraceMeanField_ELBO())

    def step(b: Batch, beta: float) -> None:
        svi.step(b[0], b[1], 1.0 / float(b[1].sum()), beta)

    def evaluate(b: Batch) -> float:
        with torch.no_grad():
            return float(svi.evaluate_loss(b[0], b[1], 1.0))

    return step, evaluate


TRAINERS: dict[str, Callable[[DMM, float], Trainer]] = {
    "dgmcore": dgmcore_trainer, "hand": hand_trainer, "pyro": pyro_trainer,
}


def per_frame(evaluate: Callable[[Batch], float], data: list[Batch], seed: int) -> float:
    torch.manual_seed(seed)
    return sum(evaluate(b) for b in data) / sum(float(b[1].sum()) for b in data)


def run(
    names: Sequence[str], reference: DMM, chorales: Any, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Train one copy of ``reference`` per framework, interleaved epoch by epoch (so that the
    shared machine's load falls on all alike), each with its own random stream from ``--seed``."""
    valid, test = batches(chorales.valid, args.batch), batches(chorales.test, args.batch)
    runs = []
    for name in names:
        step, evaluate = TRAINERS[name](copy.deepcopy(reference), args.lr)
        torch.manual_seed(args.seed)
        runs.append({"framework": name, "step": step, "evaluate": evaluate, "train_s": 0.0,
                     "order": torch.Generator().manual_seed(args.seed), "rng": torch.random.get_rng_state(),
                     "valid_curve": [per_frame(evaluate, valid, args.seed)]})
    for epoch in range(args.epochs):
        # KL annealing: the weight rises linearly from --min-beta to 1 over --anneal epochs
        beta = 1.0 if epoch >= args.anneal else args.min_beta + (1 - args.min_beta) * epoch / args.anneal
        for r in runs:
            torch.random.set_rng_state(r["rng"])
            t0 = time.perf_counter()
            for b in batches(chorales.train, args.batch, r["order"]):
                r["step"](b, beta)
            r["train_s"] += time.perf_counter() - t0
            r["rng"] = torch.random.get_rng_state()  # evaluation does not change the training noise
            r["valid_curve"].append(per_frame(r["evaluate"], valid, args.seed))
            print(f"{r['framework']:8s} epoch {epoch + 1:3d}  valid -ELBO/frame {r['valid_curve'][-1]:.4f}",
                  flush=True)
    return [{"framework": r["framework"], "test_nelbo_per_frame": per_frame(r["evaluate"], test, args.seed),
             "valid_curve": r["valid_curve"], "train_s": r["train_s"]} for r in runs]


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--z", type=int, default=32)
    parser.add_argument("--emission", type=int, default=64)
    parser.add_argument("--transition", type=int, default=128)
    parser.add_argument("--rnn", type=int, default=128)
    parser.add_argument("--anneal", type=int, default=10, help="epochs of KL annealing (0: none)")
    parser.add_argument("--min-beta", type=float, default=0.2, help="the KL weight annealing starts from")
    parser.add_argument("--bias-init", action=argparse.BooleanOptionalAction, default=True,
                        help="start the emitter's bias at the keys' training frequencies")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="dgmcore,hand,pyro")
    parser.add_argument("--pieces", type=int, default=None, help="N pieces of each split (a quick run)")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    torch.set_num_threads(args.threads)
    chorales = load_chorales(None if args.pieces is None else corpus_names(args.pieces))
    torch.manual_seed(args.seed)
    reference = DMM(88, args.z, args.emission, args.transition, args.rnn)
    if args.bias_init:  # start at the independent-keys model: the latent then has only timing to learn
        frames = torch.cat(chorales.train)
        freq = ((frames.sum(0) + 0.5) / (len(frames) + 1.0)).clamp(1e-4, 1 - 1e-4)
        with torch.no_grad():
            reference.emitter.hidden_to_x.bias.copy_(freq.logit())
    results = run(args.only.split(","), reference, chorales, args)
    baseline = independent_keys_nll(chorales.train, chorales.test)
    results.append({"framework": "independent keys (baseline)", "test_nelbo_per_frame": baseline,
                    "valid_curve": [], "train_s": 0.0})
    print("| framework | test -ELBO per frame | training time (s) |\n|---|---|---|")
    for r in results:
        row = (r["framework"], f"{r['test_nelbo_per_frame']:.4f}", f"{r['train_s']:.1f}")
        print("| " + " | ".join(row) + " |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "results": results}, f, indent=1)
    return results


if __name__ == "__main__":
    main()
