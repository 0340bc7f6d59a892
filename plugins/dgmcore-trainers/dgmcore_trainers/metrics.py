"""Writing the metric history: ``metrics.csv`` and, when tensorboard is installed, scalars."""

from __future__ import annotations

import csv
import importlib.util
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["MetricWriter", "read_metrics"]


class MetricWriter:
    """Rewrites ``out/metrics.csv`` from the whole history after each epoch.

    Rewriting (to a temporary file renamed over the old one) keeps the file
    whole and consistent with a resumed run's history. TensorBoard scalars go
    through Fabric's ``TensorBoardLogger`` into ``out/tensorboard`` when the
    ``tensorboard`` package is installed.
    """

    def __init__(self, out: Path, tensorboard: bool | None = None) -> None:
        self.out = out
        if tensorboard is None:
            tensorboard = importlib.util.find_spec("tensorboard") is not None
        self.tb: Any = None
        if tensorboard:
            from lightning_fabric.loggers import TensorBoardLogger

            self.tb = TensorBoardLogger(root_dir=str(out), name="tensorboard", version="")

    def write(self, history: Sequence[dict[str, float]]) -> None:
        """Write every row (called on rank 0)."""
        self.out.mkdir(parents=True, exist_ok=True)
        columns: list[str] = []
        for row in history:
            columns += [k for k in row if k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(history)
        tmp = self.out / ".metrics.csv.tmp"
        tmp.write_text(buf.getvalue())
        os.replace(tmp, self.out / "metrics.csv")
        if self.tb is not None and history:
            row = history[-1]
            self.tb.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))

    def close(self) -> None:
        if self.tb is not None:
            self.tb.finalize("success")


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """The rows of a ``metrics.csv``, as numbers.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from dgmcore_trainers.metrics import MetricWriter, read_metrics
        >>> with tempfile.TemporaryDirectory() as d:
        ...     MetricWriter(Path(d), tensorboard=False).write([{"epoch": 1, "train_loss": 2.5}])
        ...     read_metrics(Path(d) / "metrics.csv")
        [{'epoch': 1.0, 'train_loss': 2.5}]
    """
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
