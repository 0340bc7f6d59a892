""":func:`fit`: the training loop, on Lightning Fabric."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins import HalfPrecision, MixedPrecision

from dgmcore.models import Model
from dgmcore_trainers.errors import FitConfigError
from dgmcore_trainers.hooks import Hooks
from dgmcore_trainers.loaders import shard_loader
from dgmcore_trainers.metrics import MetricWriter
from dgmcore_trainers.phases import keep_float32, phases_of
from dgmcore_trainers.rng import generators_of, get_rng_state, set_rng_state
from dgmcore_trainers.run import FitRun
from dgmcore_trainers.steps import Stepper, validate

__all__ = ["fit"]

def _precision(precision: str, accelerator: str) -> str:
    if precision != "mixed":
        return precision
    gpu = accelerator in ("cuda", "gpu") or (accelerator == "auto" and torch.cuda.is_available())
    return "16-mixed" if gpu else "bf16-mixed"


def _make_fabric(accelerator: str, devices: Any, strategy: Any, num_nodes: int, precision: str) -> Any:
    from lightning_fabric import Fabric

    try:
        fabric = Fabric(accelerator=accelerator, devices=devices, strategy=strategy,
                        num_nodes=num_nodes, precision=precision)  # type: ignore[arg-type]
    except (RuntimeError, ValueError, TypeError, ImportError) as err:
        # an unknown name, an accelerator this machine lacks (no GPU), a missing package (TPU)
        raise FitConfigError(
            f"fit: Fabric cannot run accelerator={accelerator!r}, devices={devices!r}, "
            f"strategy={strategy!r}, precision={precision!r} here: {err}"
        ) from err
    fabric.launch()
    return fabric


def _schedulers(scheduler: Any, optimizer: torch.optim.Optimizer) -> list[Any]:
    if scheduler is None:
        return []
    made = scheduler(optimizer) if callable(scheduler) and not hasattr(scheduler, "step") else scheduler
    if not hasattr(made, "step") or not hasattr(made, "state_dict"):
        raise FitConfigError(f"fit: scheduler must be a torch LR scheduler or a function of the "
                             f"optimizer returning one, got {type(made).__name__}")
    return [made]


def fit(
    model: Model,
    train_loader: Iterable[Any],
    epochs: int,
    valid_loader: Iterable[Any] | None = None,
    *,
    out: str | Path | None = None,
    resume: str | Path | bool | None = None,
    checkpoint_every: int | None = None,
    early_stopping: int | None = None,
    monitor: str | None = None,
    min_delta: float = 0.0,
    clip_grad_norm: float | None = None,
    clip_grad_value: float | None = None,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    precision: str = "32-true",
    accelerator: str = "cpu",
    devices: int | str | list[int] = 1,
    strategy: Any = "auto",
    num_nodes: int = 1,
    fabric: Any = None,
    variables: Sequence[str] | None = None,
    callbacks: Sequence[Any] = (),
    progress: bool = True,
    seed: int = 0,
) -> FitRun:
    """Train ``model`` for ``epochs`` epochs over ``train_loader``.

    Each batch runs the model's phases (a :class:`~dgmcore_trainers.GAN`'s
    discriminator step, then the model's loss), each as one forward of a
    module that Fabric sets up (a DDP wrapper across processes), one
    ``fabric.backward`` and one optimizer step. After each epoch the
    ``valid_loader`` is evaluated with the model's test loss, a row is added to
    the history (``metrics.csv`` in ``out``), schedulers and early stopping
    advance, and the checkpoint ``out/checkpoint.pt`` is written; the
    lifecycle hooks (:mod:`dgmcore_trainers.hookspecs`) run throughout.

    Args:
        model: a :class:`dgmcore.models.Model` (``VAE``, ``ML``... or the core one).
        train_loader: yields dicts of tensors, tensors, or tuples (see ``variables``).
        epochs: the number of epochs (in all, counting those of a resumed run).
        valid_loader: evaluated after every epoch (``valid_loss``).
        out: the folder for ``metrics.csv``, ``checkpoint.pt`` and TensorBoard
            logs; None writes nothing.
        resume: a checkpoint to continue from, or True for ``out/checkpoint.pt``
            when it exists.
        checkpoint_every: also write the checkpoint every this many steps.
        early_stopping: stop after this many epochs without improvement of
            ``monitor`` by more than ``min_delta``.
        monitor: the metric watched (default ``valid_loss``, else ``train_loss``); lower is better.
        clip_grad_norm, clip_grad_value: gradient clipping (default: the model's).
        scheduler: a torch LR scheduler of ``model.optimizer``, or a function
            ``optimizer -> scheduler``; ``ReduceLROnPlateau`` steps on ``monitor``.
        scheduler_interval: ``"epoch"`` or ``"step"``.
        precision: a Fabric precision (``"32-true"``, ``"bf16-mixed"``,
            ``"16-mixed"``...) or ``"mixed"``: bfloat16 autocast on the CPU,
            float16 with a gradient scaler on a GPU. The distributions'
            parameters, and so every log-density and KL, stay float32.
        accelerator, devices, strategy, num_nodes: passed to
            ``lightning_fabric.Fabric`` (``strategy="ddp"`` for data parallel).
        fabric: a launched ``Fabric`` to use instead (its precision applies).
        variables: names of the items of tuple or tensor batches.
        callbacks: objects with any of the hook methods, called after the plugins'.
        progress: show a tqdm progress bar with the running loss (rank 0).
        seed: the shuffling seed of the loaders across processes.

    Returns:
        The :class:`~dgmcore_trainers.FitRun`, with its ``history``.

    Raises:
        FitConfigError: arguments that cannot work together.
        CheckpointError: ``resume`` names a checkpoint that does not fit.
        NonFiniteLossError: a non-finite loss (unless the model skips them).

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_trainers import ML, fit
        >>> p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=1.0, var=["x"])
        >>> data = torch.utils.data.DataLoader(torch.randn(64, 2) + 3.0, batch_size=16)
        >>> run = fit(ML(p, optimizer_params={"lr": 0.2}), data, epochs=20, progress=False)
        >>> [row["epoch"] for row in run.history][-3:]
        [18, 19, 20]
        >>> bool(run.history[-1]["train_loss"] < run.history[0]["train_loss"])
        True
    """
    if not isinstance(epochs, int) or epochs < 0:
        raise FitConfigError(f"fit: epochs must be a non-negative integer, got {epochs!r}")
    if scheduler_interval not in ("epoch", "step"):
        raise FitConfigError(f"fit: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every < 1):
        raise FitConfigError(f"fit: checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    fabric = fabric if fabric is not None else _make_fabric(
        accelerator, devices, strategy, num_nodes, _precision(precision, accelerator))
    phases = phases_of(model, clip_grad_norm, clip_grad_value)
    out_path = Path(out) if out is not None else None
    run = FitRun(model, fabric, phases, _schedulers(scheduler, model.optimizer), out_path, epochs)
    if resume is True:
        resume = run.checkpoint_path if run.checkpoint_path and run.checkpoint_path.exists() else None
    checked = run.check(resume) if resume else None  # a checkpoint that does not fit moves nothing
    if fabric.world_size > 1:
        train_loader = shard_loader(train_loader, fabric.world_size, fabric.global_rank, seed)  # type: ignore[arg-type]
        if valid_loader is not None:
            valid_loader = shard_loader(valid_loader, fabric.world_size, fabric.global_rank, seed)  # type: ignore[arg-type]
    prepared = [fabric.setup(p.objective, p.optimizer) for p in phases]
    # after setup, which moves the networks to the device: the optimizer's state is
    # loaded onto the device of its parameters (on a GPU it would otherwise stay on the CPU)
    saved = run.apply(checked) if checked is not None else None
    mixed = isinstance(fabric.strategy.precision, (MixedPrecision, HalfPrecision))
    handles = [h for p in phases for h in keep_float32(p.objective)] if mixed else []
    hooks = Hooks(callbacks)
    monitor = monitor or ("valid_loss" if valid_loader is not None else "train_loss")
    writer = MetricWriter(out_path) if out_path is not None and run.is_global_zero else None
    try:
        _train(run, prepared, train_loader, valid_loader, hooks, writer, saved,
               checkpoint_every, early_stopping, monitor, min_delta, scheduler_interval,
               variables, progress and run.is_global_zero)
    finally:
        for h in handles:
            h.remove()
        if writer is not None:
            writer.close()
    return run


def _train(run: FitRun, prepared: list[Any], train_loader: Any, valid_loader: Any, hooks: Hooks,
           writer: MetricWriter | None, saved: dict[str, Any] | None, checkpoint_every: int | None,
           early_stopping: int | None, monitor: str, min_delta: float, interval: str,
           variables: Sequence[str] | None, progress: bool) -> None:
    from tqdm.auto import tqdm

    stepper = Stepper(run, prepared, variables)
    generators = generators_of(train_loader)
    hooks.call("on_fit_start", run=run)
    if saved is not None and run.batch == 0:
        set_rng_state(saved["rng"], generators)
    for epoch in range(run.epoch + 1, run.epochs + 1):
        if run.should_stop:
            break
        start = time.perf_counter()
        sampler: Any = getattr(train_loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):  # a DistributedSampler: the epoch sets the order
            sampler.set_epoch(epoch)
        skip = run.batch
        if skip and saved is not None:  # resuming mid-epoch: replay the epoch's order first
            set_rng_state(saved["epoch_rng"], generators)
        else:
            run.epoch_sums = {}
        epoch_rng = get_rng_state(generators)
        batches = iter(train_loader)
        for _ in range(skip):
            next(batches)
        if skip and saved is not None:
            set_rng_state(saved["rng"], generators)
        total = len(train_loader) if hasattr(train_loader, "__len__") else None
        bar = tqdm(total=total, initial=skip, desc=f"epoch {epoch}/{run.epochs}", disable=not progress,
                   leave=True, dynamic_ncols=True, mininterval=0.25)
        shown = time.monotonic()
        for batch_idx, batch in enumerate(batches, start=skip):
            loss = stepper.step(batch)
            run.batch = batch_idx + 1
            run.global_step += 1
            hooks.call("on_train_batch_end", run=run, batch_idx=batch_idx, loss=loss)
            if interval == "step":
                for s in run.schedulers:
                    s.step()
            if checkpoint_every is not None and run.global_step % checkpoint_every == 0:
                run.save(epoch_rng, generators)
            if progress:
                bar.update(1)
                if time.monotonic() - shown > 0.5:  # formatting the postfix costs more than a small step
                    shown = time.monotonic()
                    bar.set_postfix_str(f"loss {stepper.running_loss():.4f}", refresh=False)
        row = stepper.epoch_row(epoch)
        if valid_loader is not None:
            row["valid_loss"] = validate(run, valid_loader, stepper.convert)
            hooks.call("on_validation_end", run=run, metrics={"valid_loss": row["valid_loss"]})
        if progress:
            bar.set_postfix_str("  ".join(f"{k} {v:.4f}" for k, v in row.items() if k.endswith("loss")))
            bar.close()
        _schedule(run, row, monitor, interval)
        _early_stop(run, row, monitor, min_delta, early_stopping)
        row["lr"] = float(run.model.optimizer.param_groups[0]["lr"])
        row["seconds"] = time.perf_counter() - start
        run.epoch, run.batch = epoch, 0
        run.history.append(row)
        hooks.call("on_epoch_end", run=run, epoch=epoch, metrics=row)
        if writer is not None:
            writer.write(run.history)
        run.save(epoch_rng, generators)
    hooks.call("on_fit_end", run=run)


def _schedule(run: FitRun, row: dict[str, float], monitor: str, interval: str) -> None:
    for s in run.schedulers:
        if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
            s.step(row[monitor])
        elif interval == "epoch":
            s.step()


def _early_stop(run: FitRun, row: dict[str, float], monitor: str, min_delta: float,
                patience: int | None) -> None:
    if monitor not in row:
        if patience is not None:
            raise FitConfigError(f"fit: early stopping monitors {monitor!r}, but the metrics are "
                                 f"{sorted(row)}")
        return
    value = row[monitor]
    if value < run.best - min_delta:
        run.best, run.bad_epochs = value, 0
    else:
        run.bad_epochs += 1
    if patience is not None and run.bad_epochs >= patience:
        run.should_stop = run.stopped_early = True

