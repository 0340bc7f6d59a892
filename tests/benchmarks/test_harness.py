"""The interleaved timer: which rounds each column runs in, and how its ratios are paired."""

from __future__ import annotations

import gc

import torch

from benchmarks.harness import Column, Timing, interleave


def _column(name: str, group: str, every: int = 1) -> Column:
    return Column(name, group, lambda x: None, lambda x: torch.zeros(()), [], every=every)


def test_sparse_columns_run_in_their_rounds_and_pair_with_those_rounds() -> None:
    columns = [_column("ref", "a"), _column("often", "a"), _column("seldom", "a", every=3)]
    timing = interleave(columns, lambda: {"x": torch.zeros(1)}, rounds=7, warmup=1, steps=1)
    assert timing.rounds_of == {"ref": list(range(7)), "often": list(range(7)), "seldom": [0, 3, 6]}
    assert len(timing.cpu_per_round["seldom"]) == 3
    assert all(f >= 0 for f in timing.faults_per_round["ref"])
    assert not gc.get_freeze_count()  # the heap is unfrozen afterwards
    # paired with the reference's times of the same rounds, not of the first three
    fake = Timing(
        ["ref", "seldom"],
        per_round={"ref": [1.0, 9.0, 9.0, 2.0, 9.0, 9.0, 4.0], "seldom": [1.5, 3.0, 6.0]},
        cpu_per_round={},
        groups={"ref": "a", "seldom": "a"},
        rounds_of={"ref": list(range(7)), "seldom": [0, 3, 6]},
    )
    assert fake.summary({"a": "ref"})["seldom"]["ratio"] == 1.5
