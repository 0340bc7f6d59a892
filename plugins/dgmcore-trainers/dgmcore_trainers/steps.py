"""One training step (every phase of a model on one batch) and the validation pass."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from lightning_fabric.plugins import MixedPrecision, Precision

from dgmcore.errors import NonFiniteLossError, ShapeError
from dgmcore_trainers.batches import batch_converter, batch_size

__all__ = ["Stepper", "validate"]


class Stepper:
    """Runs the phases of a run on batches and keeps the epoch's loss sums."""

    def __init__(self, run: Any, prepared: list[Any], variables: Sequence[str] | None) -> None:
        self.run = run
        self.fabric = run.fabric
        self.variables = variables
        precision = run.fabric.strategy.precision
        self.scaled = isinstance(precision, MixedPrecision) and precision.scaler is not None
        # One process in full precision: Fabric's wrappers would only forward each call (about
        # 0.2 ms a step, 5% of a digits-VAE step), so the step calls the module, backward and
        # optimizer itself. Anything else goes through the wrappers (DDP, autocast, scaler).
        self.direct = run.fabric.world_size == 1 and type(precision) is Precision
        if self.direct:  # the objective's loss itself: no module call (it has no hooks here)
            prepared = [(p.objective.loss_fn, p.optimizer) for p in run.phases]
        # (phase, objective, optimizer, key in the history)
        self.parts = [(p, m, o, "train_loss" if p.name == "loss" else f"train_{p.name}_loss")
                      for p, (m, o) in zip(run.phases, prepared, strict=True)]
        self.on_cpu = run.fabric.device.type == "cpu"
        self.convert: Any = None

    def to_x_dict(self, batch: Any) -> dict[str, Any]:
        if self.convert is None:
            self.convert = batch_converter(batch, self.run.model.loss_cls, self.variables)
        x = self.convert(batch)
        return x if self.on_cpu else self.fabric.to_device(x)

    def step(self, batch: Any) -> torch.Tensor:
        """Every phase on one batch; returns the model's own loss (detached)."""
        x = self.to_x_dict(batch)
        n = batch_size(x)
        sums = self.run.epoch_sums
        sums["n"] = sums.get("n", 0.0) + n
        loss: torch.Tensor | None = None
        for phase, module, optimizer, key in self.parts:
            if self.direct and phase.own_step is not None:
                loss = phase.own_step(x)
                sums[key] = sums.get(key, 0.0) + loss.item() * n
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = module(x)
            if loss.dim():
                raise ShapeError(f"fit needs a scalar loss, but {phase.label} gives one of "
                                 f"shape {tuple(loss.shape)}: reduce it with .mean() or .sum()")
            value = loss.item()
            if not math.isfinite(value):
                self._nonfinite(phase, value, "loss")
                continue
            if self.direct:
                loss.backward()
            else:
                self.fabric.backward(loss)
            if phase.clip_grad_norm is not None:
                norm = self._clip(module, optimizer, max_norm=phase.clip_grad_norm)
                if not self.scaled and norm is not None and not torch.isfinite(norm):
                    optimizer.zero_grad(set_to_none=True)
                    self._nonfinite(phase, float(norm), "gradient norm")
                    continue
            if phase.clip_grad_value is not None:
                self._clip(module, optimizer, clip_val=phase.clip_grad_value)
            optimizer.step()
            sums[key] = sums.get(key, 0.0) + value * n
        return torch.zeros(()) if loss is None else loss.detach()

    def _clip(self, module: Any, optimizer: Any, max_norm: float | None = None,
              clip_val: float | None = None) -> torch.Tensor | None:
        if not self.direct:  # Fabric unscales the gradients first (fp16) and clips across ranks
            return self.fabric.clip_gradients(module, optimizer, max_norm=max_norm, clip_val=clip_val,
                                              error_if_nonfinite=False)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if max_norm is not None:
            return torch.nn.utils.clip_grad_norm_(params, max_norm)
        if clip_val is not None:
            torch.nn.utils.clip_grad_value_(params, clip_val)
        return None

    def _nonfinite(self, phase: Any, value: float, what: str) -> None:
        if phase.on_nonfinite == "skip":
            return
        raise NonFiniteLossError(
            f"fit: the {what} of {phase.label} is not finite ({value}) at step "
            f"{self.run.global_step + 1}; this step changed nothing. "
            "Lower the learning rate, clip gradients (clip_grad_norm=...), or build the model with "
            "on_nonfinite='skip'"
        )

    def running_loss(self) -> float:
        sums = self.run.epoch_sums
        return sums.get("train_loss", math.nan) / max(sums.get("n", 0.0), 1.0)

    def epoch_row(self, epoch: int) -> dict[str, float]:
        """The epoch's mean losses, averaged over every process."""
        sums = self.run.epoch_sums
        keys = ["n"] + [key for *_, key in self.parts]
        values = torch.tensor([sums.get(k, 0.0) for k in keys], dtype=torch.float64)
        if self.fabric.world_size > 1:
            values = self.fabric.all_reduce(values.to(self.fabric.device), reduce_op="sum").cpu()
        n = max(float(values[0]), 1.0)
        row: dict[str, float] = {"epoch": epoch}
        row.update({k: float(v) / n for k, v in zip(keys[1:], values[1:].tolist(), strict=True)})
        return row


def validate(run: Any, loader: Iterable[Any], convert: Any) -> float:
    """The model's test loss over ``loader``, weighted by batch size, across processes."""
    model, fabric = run.model, run.fabric
    total = torch.zeros(2, dtype=torch.float64)
    model.distributions.eval()
    try:
        with torch.no_grad(), fabric.autocast():
            for batch in loader:
                x = convert(batch) if convert is not None else batch
                x = fabric.to_device(x)
                n = batch_size(x)
                total += torch.tensor([float(model.test_loss_cls.eval(x)) * n, n], dtype=torch.float64)
    finally:
        model.distributions.train()
    if fabric.world_size > 1:
        total = fabric.all_reduce(total.to(fabric.device), reduce_op="sum").cpu()
    return float(total[0] / total[1]) if total[1] > 0 else math.nan
