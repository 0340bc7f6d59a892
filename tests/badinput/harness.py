"""Classify what the public API does with one input, and keep the tally.

Each case is a call, whether its input is bad, the names one of which a good
error message must contain (the object's formula text), and for a valid input a
check against an independent reference. The outcome is one of:

========================  ==============================================================
``typed``                 bad input, a ``DGMError`` whose message names the object (good)
``correct``               valid input, a result that equals the reference (good)
``unclear``               bad input, a ``DGMError`` that names none of the names
``raw``                   any other exception (TypeError, RuntimeError from torch...)
``false-alarm``           valid input refused with a ``DGMError``
``silent-wrong``          bad input accepted, or a valid input's result off the reference
``changed-model``         a failed ``Model`` call left parameters, buffers or optimizer
                          state changed
``mutated``               the call changed a tensor or dict it was given
``pending:<finding>``     a bad outcome of a cause the core owner has not fixed yet (its
                          regression test is an xfail in test_core_pending.py)
========================  ==============================================================
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from dgmcore.errors import DGMError

GOOD = ("typed", "correct")
TALLY: collections.Counter[str] = collections.Counter()
EXAMPLES: dict[str, list[str]] = collections.defaultdict(list)
#: causes owned by the core's distribution side, not fixed at the time of writing; a bad
#: outcome of a case tagged with one of them is tallied as pending, not as a failure.
#: Drop an entry when its xfail in test_core_pending.py passes.
PENDING: set[str] = set()


@dataclass
class Case:
    """One input to the public API."""

    name: str
    call: Callable[[], Any]
    bad: bool | None  # None: a typed error or the correct result are both fine
    names: Iterable[str] = ()
    check: Callable[[Any], None] | None = None
    inputs: Any = None  # what the call must not mutate
    state: Callable[[], Any] | None = None  # the model's state, compared after a failed call
    finding: str | None = None  # the cause a bad outcome would belong to
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    kind: str
    case: str
    detail: str

    @property
    def acceptable(self) -> bool:
        return self.kind in GOOD or self.kind.startswith("pending:")

    def __str__(self) -> str:
        return f"{self.kind}: {self.case}: {self.detail}"


def run(case: Case) -> Outcome:
    """Run ``case``, classify it, and add it to the tally."""
    inputs_before = _clone(case.inputs)
    state_before = _clone(case.state()) if case.state is not None else None
    kind, detail = _classify(case)
    if case.inputs is not None and not _same(inputs_before, case.inputs):
        kind, detail = "mutated", f"an input changed ({detail})"
    if kind in ("typed", "unclear", "raw") and state_before is not None:
        if not _same(state_before, case.state()):
            kind, detail = "changed-model", f"the model changed after {detail}"
    if kind not in GOOD and case.finding in PENDING:
        kind = f"pending:{case.finding}"
    TALLY[kind] += 1
    if len(EXAMPLES[kind]) < 8:
        EXAMPLES[kind].append(f"{case.name}: {detail}")
    return Outcome(kind, case.name, detail)


def _classify(case: Case) -> tuple[str, str]:
    try:
        result = case.call()
    except DGMError as err:
        msg = str(err)
        if case.bad is False:
            return "false-alarm", f"{type(err).__name__}: {msg}"
        if any(n in msg for n in case.names):
            return "typed", type(err).__name__
        return "unclear", f"{type(err).__name__} names none of {list(case.names)}: {msg}"
    except Exception as err:  # the outcome under test
        return "raw", f"{type(err).__name__}: {err}"
    if case.bad:
        return "silent-wrong", f"accepted, returned {_describe(result)}"
    # bad is False or None: the result must equal the reference
    if case.check is not None:
        try:
            case.check(result)
        except AssertionError as err:
            return "silent-wrong", f"result off the reference: {err}"
    return "correct", _describe(result)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    return repr(value)[:80]


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Mapping):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clone(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        if not isinstance(b, torch.Tensor) or a.shape != b.shape or a.dtype != b.dtype:
            return False
        return bool(torch.equal(a.nan_to_num(), b.nan_to_num()) and torch.equal(a.isnan(), b.isnan()))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(_same, a, b))
    return a == b if not isinstance(a, float) else (a == b or (a != a and b != b))


def summary() -> str:
    """The tally as a table, with up to 8 examples of each outcome that is not good."""
    total = sum(TALLY.values())
    lines = [f"bad-input suite: {total} cases"]
    for kind, n in sorted(TALLY.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {kind:<20} {n}")
    for kind, examples in sorted(EXAMPLES.items()):
        if kind in GOOD:
            continue
        lines.append(f"  examples of {kind}:")
        lines += [f"    {' '.join(e.split())[:240]}" for e in examples]
    return "\n".join(lines)
