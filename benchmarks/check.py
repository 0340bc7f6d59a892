"""The check mode: every column computes the hand-written objective.

Before any timing is trusted, each column's loss and gradients are compared
with the hand-written column of its group, on the same weights (every column
starts from copies of one set), the same inputs and the same noise (the random
generator is re-seeded before each column draws its sample). The analytic group
and the Monte-Carlo group are checked against their own hand-written twin.
Each column's loss is evaluated once before the checked evaluation, so that a
compiled loss (whose first call runs eagerly) is checked through its graph.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from benchmarks.harness import Column, Inputs

__all__ = ["CheckResult", "check_columns"]

SEED = 1234


@dataclass
class CheckResult:
    """How far one column is from the hand-written one of its group."""

    column: str
    group: str
    loss: float
    reference: float
    grad_error: float  # largest |g - g_ref| / (|g_ref|_max + 1e-6) over the parameter tensors
    ok: bool

    def line(self) -> str:
        mark = "ok" if self.ok else "MISMATCH"
        return (
            f"{mark:8s} {self.column:34s} loss {self.loss:.6f} vs {self.reference:.6f} "
            f"(grad error {self.grad_error:.1e})"
        )


def _loss_and_grads(column: Column, inputs: Inputs) -> tuple[float, list[torch.Tensor]]:
    params = [p for m in column.modules for p in m.parameters()]
    with column.context() if column.context is not None else contextlib.nullcontext():
        column.loss(inputs)  # a first evaluation may differ in kind: a compiled loss runs it eagerly
        for p in params:
            p.grad = None
        torch.manual_seed(SEED)
        loss = column.loss(inputs)
    loss.backward()
    grads = [p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p) for p in params]
    for p in params:
        p.grad = None
    return float(loss.detach()), grads


def check_columns(
    columns: Sequence[Column], inputs: Inputs, references: dict[str, str], rtol: float = 1e-4
) -> list[CheckResult]:
    """Compare each column with ``references[column.group]`` (a column name).

    Must run before any column has taken a step, while all weights are equal.
    """
    by_name = {c.name: c for c in columns}
    ref_values = {g: _loss_and_grads(by_name[name], inputs) for g, name in references.items()}
    results = []
    for column in columns:
        ref_loss, ref_grads = ref_values[column.group]
        value, grads = _loss_and_grads(column, inputs)
        err = 0.0
        if len(grads) != len(ref_grads):
            err = float("inf")
        else:
            for g, r in zip(grads, ref_grads, strict=True):
                if g.shape != r.shape:
                    err = float("inf")
                    break
                err = max(err, float((g - r).abs().max() / (r.abs().max() + 1e-6)))
        ok = abs(value - ref_loss) <= rtol * max(1.0, abs(ref_loss)) and err <= 100 * rtol
        results.append(CheckResult(column.name, column.group, value, ref_loss, err, ok))
    return results
