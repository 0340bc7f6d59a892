"""The dmm demo, registered through register_demos, runs in quick mode and writes its outputs."""

from __future__ import annotations

import csv

import pytest
import torch

from dgmcore import plugins


def test_dmm_demo_quick_writes_pictures_metrics_and_report(tmp_path):
    pytest.importorskip("matplotlib")
    torch.set_num_threads(1)
    demo = plugins.demos()["dmm"]
    out = demo(tmp_path / "run", quick=True, seed=1)
    assert out == tmp_path / "run"
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    valid = [float(r["valid"]) for r in rows]
    assert valid[-1] < valid[0]  # the held-out loss falls
    assert (out / "piano_rolls.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "Test negative ELBO per frame" in report and "sum_{t=1}^{T}" in report


def test_dmm_demo_rejects_bad_epochs(tmp_path):
    from dgmcore.errors import DGMError

    with pytest.raises(DGMError, match="epochs"):
        plugins.demos()["dmm"](tmp_path, epochs=0)
