"""Columns, the interleaved timer, and the statistics of a benchmark.

A *column* is one way of training the same model: hand-written PyTorch, a
dgmcore objective, a Pixyz or Pyro port. Every column owns copies of the same
initial network weights and its own optimizer, and exposes

* ``step(inputs)``: one training step (zero_grad + loss + backward + optimizer
  step), written the way a user of that framework writes it;
* ``loss(inputs)``: the objective on ``inputs`` with gradients, for the check.

Timing method (see ``benchmarks/README.md``): after a warm-up, each round runs
every column once, in an order rotated from round to round, so that machine
drift hits every column alike. Before a column's block the garbage collector
runs and fresh input tensors are drawn; neither is timed. A block is
``steps`` consecutive training steps; its time per step is one sample.

The objects alive after the warm-up (modules, compiled graphs, the imported
libraries: hundreds of thousands) are moved out of the collector's sight with
``gc.freeze()``, so that the collection before each block looks at what the
rounds themselves allocate: milliseconds instead of a quarter of a second, which
buys many more rounds in the same time. Inside a block the collector is off, as
``timeit`` does, so that a collection never lands in one column's timing.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from benchmarks.allocator import minor_faults

__all__ = ["Column", "Timing", "interleave", "median_iqr", "paired_ratios"]

Inputs = dict[str, torch.Tensor]


@dataclass
class Column:
    """One implementation of a benchmarked model.

    Attributes:
        name: the column heading, e.g. ``"dgmcore analytic, memo"``.
        group: ``"analytic"`` or ``"mc"``: columns of one group compute the same
            objective on the same noise, so their losses must agree.
        step: one training step on the inputs.
        loss: the objective on the inputs (a scalar tensor with gradients).
        modules: the trained networks, in the order shared by every column.
        warmup_s: seconds the warm-up took (compilation happens there).
        context: a context manager factory entered around every block of
            steps, e.g. ``dgmcore.memo.disabled`` (entering it is not timed).
        every: the column runs in rounds ``0, every, 2 * every, ...`` only: long
            suites time the columns no target is judged on less often. Its
            paired ratios use the reference's times of those rounds.
    """

    name: str
    group: str
    step: Callable[[Inputs], Any]
    loss: Callable[[Inputs], torch.Tensor]
    modules: Sequence[nn.Module]
    warmup_s: float = 0.0
    context: Callable[[], Any] | None = None
    every: int = 1  # runs in one round out of ``every`` (columns no target is judged on)


@dataclass
class Timing:
    """Seconds per step of each column, one list entry per round.

    ``per_round`` is wall-clock time (``time.perf_counter``); ``cpu_per_round``
    the CPU time of the process (``time.process_time``), which other processes
    on a loaded machine disturb much less (with one torch thread, all the work
    runs in the timing thread).
    """

    columns: list[str]
    per_round: dict[str, list[float]] = field(default_factory=dict)
    cpu_per_round: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 1  # training steps per timed block
    groups: dict[str, str] = field(default_factory=dict)  # column -> group
    faults_per_round: dict[str, list[float]] = field(default_factory=dict)  # page faults per step
    rounds_of: dict[str, list[int]] = field(default_factory=dict)  # the rounds a column ran in

    def __post_init__(self) -> None:
        for per_column in (self.per_round, self.cpu_per_round, self.faults_per_round, self.rounds_of):
            for name in self.columns:
                per_column.setdefault(name, [])

    def summary(self, references: dict[str, str], clock: str = "wall") -> dict[str, dict[str, float]]:
        """Median and IQR of each column, and its median paired ratio (and IQR) against
        ``references[group]``: the hand-written twin of the column's group.

        ``clock`` is ``"wall"`` or ``"cpu"``.
        """
        data = self.per_round if clock == "wall" else self.cpu_per_round
        out = {}
        for name in self.columns:
            times = data[name]
            med, iqr = median_iqr(times)
            base = data[references[self.groups[name]]]  # the reference runs in every round
            rounds = self.rounds_of.get(name)
            if rounds is not None:
                base = [base[r] for r in rounds]
            r_med, r_iqr = median_iqr(paired_ratios(times, base))
            out[name] = {"median_ms": med * 1e3, "iqr_ms": iqr * 1e3, "ratio": r_med, "ratio_iqr": r_iqr}
        return out


def median_iqr(values: Sequence[float]) -> tuple[float, float]:
    """The median and the interquartile range."""
    if len(values) < 2:
        return (values[0] if values else float("nan")), 0.0
    q = statistics.quantiles(values, n=4, method="inclusive")
    return statistics.median(values), q[2] - q[0]


def paired_ratios(times: Sequence[float], base: Sequence[float]) -> list[float]:
    """Per-round ratios ``times[r] / base[r]`` (the rounds pair the columns)."""
    return [t / b for t, b in zip(times, base, strict=True)]


def _block(column: Column, inputs: list[Inputs]) -> tuple[float, float, float]:
    """Wall and CPU seconds, and page faults, per step of ``column`` over ``inputs`` (collector off)."""
    with column.context() if column.context is not None else contextlib.nullcontext():
        step = column.step
        enabled = gc.isenabled()
        gc.disable()
        try:
            faults = minor_faults()
            cpu, start = time.process_time(), time.perf_counter()
            for x in inputs:
                step(x)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            faults = minor_faults() - faults
        finally:
            if enabled:
                gc.enable()
    n = len(inputs)
    return wall / n, cpu / n, faults / n


def interleave(
    columns: Sequence[Column],
    make_inputs: Callable[[], Inputs],
    rounds: int,
    warmup: int,
    block_s: float = 0.02,
    steps: int | None = None,
) -> Timing:
    """Time ``columns`` round-robin; see the module docstring for the method.

    ``steps`` per block defaults to what makes the first column's block last
    about ``block_s`` seconds (at least one step), measured after the warm-up.
    """
    for column in columns:
        start = time.perf_counter()
        _block(column, [make_inputs() for _ in range(warmup)])
        column.warmup_s = time.perf_counter() - start
    if steps is None:
        per_step, _, _ = _block(columns[0], [make_inputs() for _ in range(3)])
        steps = max(1, round(block_s / per_step))
    names = [c.name for c in columns]
    groups = {c.name: c.group for c in columns}
    timing = Timing(names, steps=steps, groups=groups)
    gc.collect()
    gc.freeze()  # what exists now survives the run: the per-block collections skip it
    try:
        for r in range(rounds):
            present = [c for c in columns if r % c.every == 0]
            n = len(present)
            for i in range(n):
                column = present[(r + i) % n]
                inputs = [make_inputs() for _ in range(steps)]
                gc.collect()
                wall, cpu, faults = _block(column, inputs)
                timing.per_round[column.name].append(wall)
                timing.cpu_per_round[column.name].append(cpu)
                timing.faults_per_round[column.name].append(faults)
                timing.rounds_of[column.name].append(r)
    finally:
        gc.unfreeze()
    return timing
