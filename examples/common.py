"""What every example shares: the digits, the command line, the training loop, pictures and metrics.

The examples import this module by its file name (``python examples/<name>.py``
puts ``examples/`` on the path). Nothing here is dgmcore API: it is the data,
plotting and bookkeeping that each script would otherwise repeat.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

X_DIM, N_CLASSES = 64, 10


@dataclass(frozen=True)
class Digits:
    """The 1,797 8x8 digits of scikit-learn, pixels scaled to [0, 1], split 80/20 at random."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    @staticmethod
    def load(seed: int = 0) -> Digits:
        from sklearn.datasets import load_digits

        data = load_digits()
        images = torch.tensor(data.data, dtype=torch.float32) / 16.0
        labels = torch.tensor(data.target, dtype=torch.long)
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        n_train = int(0.8 * len(images))
        train, test = order[:n_train], order[n_train:]
        return Digits(images[train], labels[train], images[test], labels[test])


def one_hot(y: torch.Tensor) -> torch.Tensor:
    return nn.functional.one_hot(y, N_CLASSES).float()


def mlp(*sizes: int) -> nn.Sequential:
    """Linear layers with ReLU between them: ``mlp(64, 128, 16)``."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def batches(n: int, batch_size: int) -> Iterator[torch.Tensor]:
    """Shuffled index batches covering ``range(n)`` once (one epoch)."""
    order = torch.randperm(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


class _Dict(torch.utils.data.Dataset):
    """Rows of equally long tensors, as dicts keyed by variable name."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.tensors.items()}


def train(
    model: Any,
    train: dict[str, torch.Tensor],
    test: dict[str, torch.Tensor],
    args: argparse.Namespace,
    name: str = "",
) -> list[dict[str, float]]:
    """Train with the trainers plugin's ``fit``: shuffled mini-batches, the test set as validation.

    Returns one row per epoch: ``epoch``, ``train_loss`` and ``valid_loss``
    (the model's loss on the test digits), as ``fit`` records them.
    """
    from dgmcore_trainers import fit
    from torch.utils.data import DataLoader

    if name:
        print(f"training {name}")
    loader = DataLoader(_Dict(train), batch_size=args.batch_size, shuffle=True)
    valid = DataLoader(_Dict(test), batch_size=len(_Dict(test)))
    run = fit(model, loader, args.epochs, valid_loader=valid, seed=args.seed)
    return [{k: float(row[k]) for k in ("epoch", "train_loss", "valid_loss")} for row in run.history]


def merge(histories: dict[str, list[dict[str, float]]]) -> list[dict[str, float]]:
    """One row per epoch with each model's ``<name>_train_loss`` and ``<name>_test_loss``."""
    rows: list[dict[str, float]] = []
    for name, history in histories.items():
        for i, row in enumerate(history):
            if i == len(rows):
                rows.append({"epoch": row["epoch"]})
            rows[i][f"{name}_train_loss"] = row["train_loss"]
            rows[i][f"{name}_test_loss"] = row["valid_loss"]
    return rows


def parser(doc: str | None, epochs: int, quick_epochs: int, out: str) -> argparse.ArgumentParser:
    """The options every example takes; ``--quick`` is the reduced run the test suite uses."""
    p = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    p.add_argument(
        "--epochs", type=int, default=None, help=f"epochs (default {epochs}; {quick_epochs} with --quick)"
    )
    p.add_argument("--quick", action="store_true", help="a reduced run for tests and smoke checks")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(out))
    p.set_defaults(full_epochs=epochs, quick_epochs=quick_epochs)
    return p


def parse(p: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, fill ``epochs`` from ``--quick``, check the numbers, seed torch and make ``--out``."""
    args = p.parse_args(argv)
    if args.epochs is None:
        args.epochs = args.quick_epochs if args.quick else args.full_epochs
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        p.error("--epochs, --batch-size and --lr must be positive")
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_grid(rows: Sequence[torch.Tensor], path: Path, title: str, row_labels: Sequence[str] = ()) -> None:
    """Save rows of 8x8 digits (each row a ``(n, 64)`` tensor of values in [0, 1]) as one PNG."""
    plt = _pyplot()
    n_rows, n_cols = len(rows), rows[0].shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 0.7, n_rows * 0.7 + 0.4), squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.imshow(row[c].detach().reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0 and r < len(row_labels):
                ax.set_ylabel(row_labels[r], rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def save_scatter(points: torch.Tensor, labels: torch.Tensor, path: Path, title: str) -> None:
    """A 2-D scatter of ``points`` (first two columns) coloured by digit label."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    xy = points.detach()[:, :2].numpy()
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=labels.numpy(), cmap="tab10", s=6, vmin=-0.5, vmax=9.5)
    fig.colorbar(sc, ax=ax, ticks=range(10), label="digit")
    ax.set_title(title)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def save_curves(curves: dict[str, list[float]], path: Path, ylabel: str) -> None:
    """One line per named curve, against the epoch."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), values, marker=".", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def write_metrics(out: Path, metrics: dict[str, Any], history: Sequence[dict[str, float]] = ()) -> None:
    """``metrics.json`` (the final figures) and ``history.csv`` (one row per epoch)."""
    bad = [k for k, v in metrics.items() if isinstance(v, float) and not math.isfinite(v)]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    if history:
        with (out / "history.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]))
            writer.writeheader()
            writer.writerows(history)
    if bad:
        raise SystemExit(f"training diverged: {bad} are not finite")
