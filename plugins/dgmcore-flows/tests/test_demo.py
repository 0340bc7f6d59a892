"""The ``flow`` demo, in quick mode: it is registered, trains, and writes what the hook promises."""

from __future__ import annotations

import csv

import pytest

from dgmcore import plugins

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_flow_demo_is_registered_and_writes_its_outputs(tmp_path, flows_plugin):
    demo = plugins.demos()["flow"]
    out = demo(tmp_path / "run", quick=True, seed=0)
    assert out == tmp_path / "run"
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    first, last = float(rows[0]["test_bpd"]), float(rows[-1]["test_bpd"])
    assert last < first and 0 < last < 8
    assert (out / "samples.png").stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "diagonal Gaussian" in report and "samples.png" in report
