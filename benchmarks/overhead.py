"""The overhead profile beyond the tiny VAE: memo lookups and import time.

* Memo: the cost of :meth:`get_dist` on a distribution whose parameters are
  an input (no network), so that what is measured is dgmcore's own work: a
  hit (the key built and found), a miss with the memo on (the key built, the
  entry stored, the ``torch.distributions`` object built, in a scope of its
  own) and a miss with it off (the object built, no key).
* Import: ``import dgmcore`` and plugin discovery, measured by
  :mod:`benchmarks.import_time` in fresh interpreters.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable

import torch

import dgmcore
from dgmcore.distributions import Normal

__all__ = ["import_table", "memo_costs"]


def _per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def memo_costs(n: int = 20000, repeats: int = 7) -> dict[str, float]:
    """Microseconds per ``get_dist`` call: memo hit, miss with memo, miss without memo.

    Each miss runs in a scope of its own, as in one evaluation of a loss: a
    store that grew over thousands of calls would measure the garbage
    collector, not the memo.
    """
    q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], features_shape=[4])
    hit = {"x": torch.zeros(2, 4)}
    inputs = [{"x": torch.zeros(2, 4)} for _ in range(n)]
    scope = dgmcore.memo.scope

    def misses() -> None:
        for x in inputs:
            with scope():
                q.get_dist(x)

    out: dict[str, list[float]] = {"hit": [], "miss, memo on": [], "miss, memo off": []}
    for _ in range(repeats):
        with scope():
            q.get_dist(hit)
            out["hit"].append(_per_call(lambda: q.get_dist(hit), n))
        out["miss, memo on"].append(_per_call(misses, 1) / n)
        with dgmcore.memo.disabled():
            out["miss, memo off"].append(_per_call(misses, 1) / n)
    costs = {k: min(v) * 1e6 for k, v in out.items()}  # min: the cost without interference
    costs["key + store on a miss"] = costs["miss, memo on"] - costs["miss, memo off"]
    return costs


def import_table(runs: int = 7) -> str:
    """The markdown table printed by :mod:`benchmarks.import_time`."""
    from benchmarks import import_time

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        import_time.main(["--runs", str(runs)])
    return buffer.getvalue()
