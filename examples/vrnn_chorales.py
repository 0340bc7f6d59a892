"""Train a VRNN (Chung et al. 2015) on the Bach chorales with dgmcore and report held-out losses.

The model is ``dgmcore_timeseries.vrnn.VRNN``: one ``IterativeLoss`` over the
frames whose step is ``KL(q || prior) - E_{q f}[log p(x|z, h_prev)]``, masked on
padded batches of quarter-note piano rolls. Printed per epoch: the validation
negative ELBO per frame; at the end, the test value beside the baseline of
independent keys with the training frequencies.

Usage:
    python examples/vrnn_chorales.py [--epochs 8] [--seed 0] [--pieces N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import torch
from dgmcore_timeseries.chorales import batches, corpus_names, independent_keys_nll, load_chorales
from dgmcore_timeseries.vrnn import VRNN

from dgmcore.losses import Parameter
from dgmcore.models import Model


def per_frame(model: VRNN, loss: Any, data: list[tuple[torch.Tensor, torch.Tensor]], seed: int) -> float:
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    with torch.no_grad():
        total = sum(float(loss.eval(model.inputs(x, m)).sum()) for x, m in data)
    torch.random.set_rng_state(state)
    return total / sum(float(m.sum()) for _, m in data)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--z", type=int, default=16)
    parser.add_argument("--h", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--pieces", type=int, default=None, help="N pieces of each split (a quick run)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    chorales = load_chorales(None if args.pieces is None else corpus_names(args.pieces))
    torch.manual_seed(args.seed)
    model = VRNN(88, args.z, args.h, args.hidden)
    frames = torch.cat(chorales.train)
    freq = ((frames.sum(0) + 0.5) / (len(frames) + 1.0)).clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():  # start at the independent-keys model, as the DMM example does
        model.p.net[-1].bias.copy_(freq.logit())
    loss = model.loss()
    trainer = Model(loss.sum() / Parameter("frames"), distributions=model.distributions,
                    optimizer_params={"lr": args.lr})
    valid, test = batches(chorales.valid, args.batch), batches(chorales.test, args.batch)
    order = torch.Generator().manual_seed(args.seed)
    curve = [per_frame(model, loss, valid, args.seed)]
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for x, mask in batches(chorales.train, args.batch, order):
            trainer.train({**model.inputs(x, mask), "frames": float(mask.sum())})
        curve.append(per_frame(model, loss, valid, args.seed))
        print(f"epoch {epoch + 1:3d}  valid -ELBO/frame {curve[-1]:.4f}", flush=True)
    result = {"valid_curve": curve, "test": per_frame(model, loss, test, args.seed),
              "baseline": independent_keys_nll(chorales.train, chorales.test),
              "wall_s": time.perf_counter() - start}
    print(f"test -ELBO/frame {result['test']:.4f}  independent keys {result['baseline']:.4f}  "
          f"({result['wall_s']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
