"""The cost of :func:`dgmcore_trainers.fit` over a plain PyTorch loop: one epoch of the digits VAE.

    python -m benchmarks.fit [--rounds 30] [--threads 1] [--out benchmarks/results]

Two copies of the ``dgm demo vae`` model (latent 8, hidden 256x2, batch 32,
Adam, 1,437 digits: 45 steps an epoch) start from the same weights. ``fit``
trains one for ``--rounds`` epochs; its ``on_epoch_end`` callback records the
epoch's time (the training loop and the epoch's metrics, as ``fit`` measures
it) and then runs one epoch of the other copy as a plain loop over the same
DataLoader (``zero_grad``, ``loss.eval``, ``backward``, ``step``, the loss
summed with ``.item()``), timed. The rounds pair the two, and the report gives
the median of the per-round ratios with its interquartile range, by wall
clock and by the process's CPU time (which other processes on a shared
machine disturb much less; fit's CPU time runs from the end of one plain
epoch to the end of the next fit epoch, so it includes all of fit's work
between epochs), with the progress bar off and on (the bar writes to
stderr). Target: <= 1.02x.
The first rounds are warm-up and are dropped.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from benchmarks.harness import median_iqr, paired_ratios

WARMUP = 3


def _model() -> object:
    from dgmcore_trainers import VAE
    from dgmcore_trainers.demos.digits import make_decoder, make_encoder, make_prior

    from dgmcore.losses import KullbackLeibler

    q, p, prior = make_encoder(8, 256), make_decoder(8, 256), make_prior(8)
    return VAE(q, p, regularizer=KullbackLeibler(q, prior), optimizer_params={"lr": 1e-3})


def plain_epoch(model: object, loader: DataLoader) -> float:
    """One epoch written by hand; returns the mean loss."""
    loss_fn, opt = model.loss_cls, model.optimizer  # type: ignore[attr-defined]
    total, n = 0.0, 0
    for (x,) in loader:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn.eval({"x": x})
        loss.backward()
        opt.step()
        total += loss.item() * len(x)
        n += len(x)
    return total / n


def measure(rounds: int, progress: bool) -> dict[str, float]:
    from dgmcore_trainers import fit
    from dgmcore_trainers.demos.digits import load_digits_split

    torch.manual_seed(0)
    train_x = load_digits_split(0)[0]
    loader = DataLoader(torch.utils.data.TensorDataset(train_x), batch_size=32, shuffle=True)
    fitted = _model()
    twin = copy.deepcopy(fitted)
    fit_s: list[float] = []
    plain_s: list[float] = []
    fit_cpu: list[float] = []
    plain_cpu: list[float] = []

    class Interleave:
        last_cpu = time.process_time()

        def on_epoch_end(self, metrics: dict[str, float]) -> None:
            cpu = time.process_time()
            # CPU time from the end of the previous plain epoch: all of fit's work in between
            fit_cpu.append(cpu - self.last_cpu)
            fit_s.append(metrics["seconds"])
            start = time.perf_counter()
            plain_epoch(twin, loader)
            plain_s.append(time.perf_counter() - start)
            self.last_cpu = time.process_time()
            plain_cpu.append(self.last_cpu - cpu)

    stderr = sys.stderr
    try:
        if progress:
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - the bar's cost, not the terminal's
        fit(fitted, loader, rounds + WARMUP, variables=["x"], progress=progress, callbacks=[Interleave()])
    finally:
        if sys.stderr is not stderr:
            sys.stderr.close()
            sys.stderr = stderr
    ratio, iqr = median_iqr(paired_ratios(fit_s[WARMUP:], plain_s[WARMUP:]))
    cpu_ratio, cpu_iqr = median_iqr(paired_ratios(fit_cpu[WARMUP:], plain_cpu[WARMUP:]))
    return {"fit_ms": median_iqr(fit_s[WARMUP:])[0] * 1e3, "plain_ms": median_iqr(plain_s[WARMUP:])[0] * 1e3,
            "ratio": ratio, "ratio_iqr": iqr, "cpu_ratio": cpu_ratio, "cpu_ratio_iqr": cpu_iqr,
            "rounds": rounds}


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = {f"progress {'on' if bar else 'off'}": measure(args.rounds, bar) for bar in (False, True)}
    for name, r in results.items():
        print(f"fit epoch vs plain loop, {name}: {r['fit_ms']:.1f} ms vs {r['plain_ms']:.1f} ms, "
              f"wall ratio {r['ratio']:.3f} (IQR {r['ratio_iqr']:.3f}), CPU-time ratio "
              f"{r['cpu_ratio']:.3f} (IQR {r['cpu_ratio_iqr']:.3f}); {r['rounds']} rounds, "
              f"{args.threads} thread")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "fit.json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
