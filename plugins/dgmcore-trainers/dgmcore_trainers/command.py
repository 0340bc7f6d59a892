"""``dgm demo NAME``: run a demo registered by any plugin (``register_demos``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dgmcore import plugins

__all__ = ["PROVIDERS", "add_demo_command", "run_demo"]

#: The first-party demos and the package that provides each.
PROVIDERS = {
    "vae": "dgmcore-trainers",
    "cvae": "dgmcore-trainers",
    "gan": "dgmcore-adversarial",
    "flow": "dgmcore-flows",
    "dmm": "dgmcore-timeseries",
}


def add_demo_command(cli: Any) -> None:
    """Add ``dgm demo`` to the command line (from ``register_commands``)."""
    parser = cli.add(
        "demo", run_demo, help="train a demo model on bundled data and write its pictures and report",
        description="Train one of the demos that plugins register (vae, cvae, gan, flow, dmm) on real "
        "bundled data, with a progress bar; write PNG pictures, metrics.csv and report.md into the "
        "output folder, which is named at the end.")
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="the demo to run (default: none, list the demos)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the demo's own, 100 for vae and cvae)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: runs/NAME)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--device", default="cpu",
                        help="where to train: cpu, cuda, mps... (default: cpu)")
    parser.add_argument("--quick", action="store_true",
                        help="a reduced run, for tests (default: off)")


def device_problem(device: str) -> str | None:
    """Why ``--device device`` cannot train here, or None when it can."""
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as err:
        return f"--device {device!r} is not a torch device ({err}); use cpu, cuda or mps"
    if kind == "cuda" and not torch.cuda.is_available():
        return (f"--device {device}: CUDA is not available on this machine (torch "
                f"{torch.__version__} sees no GPU); use --device cpu")
    if kind == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: MPS (Apple GPUs) is not available on this machine; use --device cpu"
    if ":" in device:
        return (f"--device {device}: give the device type alone (cpu, cuda or mps); choose the GPU "
                "with CUDA_VISIBLE_DEVICES")
    if kind not in ("cpu", "cuda", "mps"):
        return f"--device {device}: the demos train on cpu, cuda or mps, not {kind}"
    return None


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo ``args.name``; returns the exit status."""
    demos = plugins.demos()
    if args.name is None:
        print("demos: " + ", ".join(sorted(demos)) if demos else "no demos are installed")
        missing = sorted(set(PROVIDERS) - set(demos))
        for name in missing:
            print(f"  {name}: pip install {PROVIDERS[name]}")
        return 0
    if args.name not in demos:
        known = ", ".join(sorted(demos)) or "none"
        hint = (f"it is provided by {PROVIDERS[args.name]}: pip install {PROVIDERS[args.name]}"
                if args.name in PROVIDERS else "no installed plugin registers it")
        print(f"dgm demo: error: no demo named {args.name!r} ({hint}); installed demos: {known}",
              file=sys.stderr)
        return 1
    if args.epochs is not None and args.epochs < 1:
        print("dgm demo: error: --epochs must be a positive integer", file=sys.stderr)
        return 2
    problem = device_problem(args.device)
    if problem:
        print(f"dgm demo: error: {problem}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else Path("runs") / args.name
    folder = demos[args.name](out, epochs=args.epochs, seed=args.seed, device=args.device, quick=args.quick)
    print(f"dgm demo {args.name}: done; see {folder or out}/report.md")
    return 0
