"""The pictures of the digits demos: grids of 8x8 digits and a labelled loss curve (PNG)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["save_curve", "save_grid"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_grid(rows: Sequence[torch.Tensor], path: Path, title: str, labels: Sequence[str] = ()) -> Path:
    """Save rows of 8x8 digits (each row a ``(n, 64)`` tensor in [0, 1]) as one PNG."""
    plt = _pyplot()
    n_rows, n_cols = len(rows), rows[0].shape[0]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(n_cols * 0.7 + 0.6, n_rows * 0.7 + 0.5),
                             squeeze=False)
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.imshow(row[c].detach().cpu().reshape(8, 8).numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0 and r < len(labels):
                ax.set_ylabel(labels[r], rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def save_curve(history: Sequence[dict[str, float]], path: Path, ylabel: str,
               baseline: tuple[str, float] | None = None) -> Path:
    """Save the train and test loss per epoch (and a horizontal baseline) as a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    epochs = [row["epoch"] for row in history]
    ax.plot(epochs, [row["train_loss"] for row in history], label="train")
    if history and "valid_loss" in history[0]:
        ax.plot(epochs, [row["valid_loss"] for row in history], label="test")
    if baseline is not None:
        ax.axhline(baseline[1], color="gray", linestyle="--", label=baseline[0])
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title("loss per epoch")
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
