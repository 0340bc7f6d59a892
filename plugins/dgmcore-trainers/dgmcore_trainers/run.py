""":class:`FitRun`: the state of one :func:`~dgmcore_trainers.fit` call, and its checkpoints."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from dgmcore.models import Model
from dgmcore_trainers.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    atomic_save,
    check_compatible,
    check_optimizer,
    load_checkpoint,
)
from dgmcore_trainers.errors import CheckpointError
from dgmcore_trainers.phases import Phase
from dgmcore_trainers.rng import get_rng_state

__all__ = ["FitRun"]


@dataclass
class FitRun:
    """What :func:`~dgmcore_trainers.fit` returns and every lifecycle hook receives.

    Attributes:
        model: the model trained.
        fabric: the ``lightning_fabric.Fabric`` that runs it.
        phases: the optimisation steps of one training step.
        schedulers: the learning-rate schedulers.
        out: the folder of ``metrics.csv``, ``checkpoint.pt`` and the
            TensorBoard logs (None: nothing is written).
        epochs: the number of epochs asked for.
        history: one row per finished epoch (``epoch``, ``train_loss``,
            ``valid_loss``, ``lr``, ``seconds`` and what hooks added).
        epoch: epochs finished.
        batch: batches finished in the current epoch.
        global_step: training steps finished.
        should_stop: set it to end training after the current epoch.
        best, bad_epochs: the early-stopping record of the monitored metric.
        stopped_early: whether early stopping ended the run.
    """

    model: Model
    fabric: Any
    phases: list[Phase]
    schedulers: list[Any]
    out: Path | None
    epochs: int
    history: list[dict[str, float]] = field(default_factory=list)
    epoch: int = 0
    batch: int = 0
    global_step: int = 0
    should_stop: bool = False
    best: float = math.inf
    bad_epochs: int = 0
    stopped_early: bool = False
    epoch_sums: dict[str, float] = field(default_factory=dict)

    @property
    def is_global_zero(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return bool(self.fabric.is_global_zero)

    @property
    def checkpoint_path(self) -> Path | None:
        """``out / "checkpoint.pt"``, or None without ``out``."""
        return None if self.out is None else self.out / "checkpoint.pt"

    def state_dict(self, epoch_rng: dict[str, Any], generators: list[torch.Generator]) -> dict[str, Any]:
        """The checkpoint: everything a resumed run needs to continue bit for bit."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "phases": {p.name: {"module": p.objective.state_dict(), "optimizer": p.optimizer.state_dict()}
                       for p in self.phases},
            "schedulers": [s.state_dict() for s in self.schedulers],
            "precision": self.fabric.strategy.precision.state_dict(),
            "epoch": self.epoch,
            "batch": self.batch,
            "global_step": self.global_step,
            "epoch_sums": dict(self.epoch_sums),
            "rng": get_rng_state(generators),
            "epoch_rng": epoch_rng,
            "history": [dict(row) for row in self.history],
            "stopping": {"best": self.best, "bad_epochs": self.bad_epochs, "stopped": self.stopped_early},
        }

    def save(self, epoch_rng: dict[str, Any], generators: list[torch.Generator]) -> None:
        """Write the checkpoint (rank 0 only), atomically."""
        path = self.checkpoint_path
        if path is not None and self.is_global_zero:
            atomic_save(self.state_dict(epoch_rng, generators), path)

    def restore(self, path: str | Path) -> dict[str, Any]:
        """Load a checkpoint into this run; returns it (for its RNG states).

        Everything is checked before anything is loaded, so a checkpoint that
        does not fit leaves the model, its optimizers and this run untouched.

        Raises:
            CheckpointError: unreadable, newer, or of another model.
        """
        return self.apply(self.check(path))

    def check(self, path: str | Path) -> dict[str, Any]:
        """Read a checkpoint and check that it fits this run; returns it, nothing loaded.

        Raises:
            CheckpointError: unreadable, newer, or of another model.
        """
        state = load_checkpoint(path)
        saved = state["phases"]
        names = [p.name for p in self.phases]
        if sorted(saved) != sorted(names):
            raise CheckpointError(f"{path} holds the phases {sorted(saved)}, this model has {names}; "
                                  "nothing was loaded")
        for p in self.phases:
            check_compatible(path, saved[p.name]["module"], p.objective.state_dict(), f"{p.name} networks")
            check_optimizer(path, saved[p.name]["optimizer"], p.optimizer.state_dict(), f"{p.name} optimizer")
        if len(state["schedulers"]) != len(self.schedulers):
            raise CheckpointError(f"{path} holds {len(state['schedulers'])} schedulers, this run "
                                  f"{len(self.schedulers)}; nothing was loaded")
        return state

    def apply(self, state: dict[str, Any]) -> dict[str, Any]:
        """Load a checkpoint that :meth:`check` accepted into this run; returns it.

        The optimizers' state lands on the device of their parameters at this
        moment: :func:`~dgmcore_trainers.fit` applies it after Fabric's set-up
        has moved the networks.
        """
        saved = state["phases"]
        for p in self.phases:
            p.objective.load_state_dict(saved[p.name]["module"])
            p.optimizer.load_state_dict(saved[p.name]["optimizer"])
        for s, s_state in zip(self.schedulers, state["schedulers"], strict=True):
            s.load_state_dict(s_state)
        if state["precision"]:
            self.fabric.strategy.precision.load_state_dict(state["precision"])
        self.epoch, self.batch, self.global_step = state["epoch"], state["batch"], state["global_step"]
        self.epoch_sums = dict(state["epoch_sums"])
        self.history = [dict(row) for row in state["history"]]
        stopping = state["stopping"]
        self.best, self.bad_epochs = stopping["best"], stopping["bad_epochs"]
        # a run that stopped early stays stopped when resumed
        self.stopped_early = self.should_stop = bool(stopping.get("stopped", False))
        return state
