"""examples/flow_digits.py trains in its reduced mode on the real digits: test bits/dim fall, files appear."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

pytest.importorskip("sklearn", reason="the example trains on the scikit-learn digits")
pytest.importorskip("matplotlib", reason="the example saves pictures")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_conditional_flow_learns_the_digits(tmp_path: Path) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("example_flow_digits", EXAMPLES / "flow_digits.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        m = module.main(["--quick", "--epochs", "3", "--out", str(tmp_path)])
    finally:
        sys.path.remove(str(EXAMPLES))
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(m)
    assert (tmp_path / "history.csv").read_text().count("\n") == 4  # header + 3 epochs
    assert m["test_bpd"] < m["initial_test_bpd"] - 1.0
    assert m["unconditional_test_bpd"] < m["initial_test_bpd"] - 1.0
    assert (tmp_path / "samples_per_class.png").stat().st_size > 1000
