"""The GAN example runs end to end on the scikit-learn digits and writes its outputs."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


def _load_example():
    spec = importlib.util.spec_from_file_location("gan_digits", ROOT / "examples" / "gan_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread():
    """Tiny networks on a shared machine: one torch thread avoids contention (restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_gan_example_trains_and_writes_its_files(tmp_path: Path, one_thread) -> None:
    pytest.importorskip("matplotlib", reason="the example's pictures need matplotlib (the demo extra)")
    pytest.importorskip("dgmcore_adversarial", reason="the example needs dgmcore-adversarial")
    out = _load_example().main(["--epochs", "2", "--out", str(tmp_path / "run"), "--seed", "1"])
    for name in ("samples.png", "loss.png", "metrics.csv", "report.md"):
        assert (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    report = (out / "report.md").read_text()
    assert "mean(W^Adv(p(x), p_{data}(x)))" in report and "mean training digit" in report


def test_gan_example_rejects_bad_arguments(tmp_path: Path) -> None:
    pytest.importorskip("dgmcore_adversarial", reason="the example needs dgmcore-adversarial")
    with pytest.raises(SystemExit):
        _load_example().main(["--epochs", "0", "--out", str(tmp_path)])
