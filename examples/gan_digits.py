"""Train a GAN (WGAN-GP) on the handwritten digits that scikit-learn ships; write pictures and a report.

The objective is the adversarial Wasserstein distance of dgmcore-adversarial,
written as a loss term that owns its critic:

    adv = AdversarialWassersteinDistance(p, EmpiricalDistribution(["x"]), critic, gradient_penalty=10.0)
    adv.train(x)                                   # the critic's step
    Model(adv.mean(), [generator]).train(x)        # the generator's step

This script runs the plugin's ``gan`` demo (also ``dgm demo gan`` when the
trainers plugin provides the command).

Usage:
    python examples/gan_digits.py [--epochs 50] [--out runs/gan_digits] [--seed 0] [--device cpu]

Outputs in ``--out``: ``samples.png``, ``loss.png``, ``metrics.csv`` and ``report.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dgmcore_adversarial.demo import gan_demo


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("runs/gan_digits"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    out = gan_demo(args.out, epochs=args.epochs, seed=args.seed, device=args.device)
    print(f"wrote {out / 'report.md'}, samples.png, loss.png, metrics.csv")
    return out


if __name__ == "__main__":
    main()
