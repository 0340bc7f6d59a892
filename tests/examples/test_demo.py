"""The README's demo runs end to end on the scikit-learn digits and writes its outputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_demo():
    spec = importlib.util.spec_from_file_location("vae_digits", ROOT / "examples" / "vae_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_demo_trains_and_writes_report(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the demo's pictures need matplotlib (the demo extra)")
    demo = _load_demo()
    out = tmp_path / "run"
    result = demo.main(["--epochs", "3", "--out", str(out), "--seed", "1"])
    # the test loss falls while training on real data
    assert result["last_test_loss"] < 0.8 * result["initial_test_loss"]
    assert result["last_test_loss"] < result["first_test_loss"]
    # an importance-sampled log-likelihood is at least the negative test ELBO (a bound), up to noise
    assert result["log_px"] > -result["last_test_loss"] - 0.5
    for name in ("report.md", "reconstructions.png", "samples.png", "loss.png"):
        assert (out / name).stat().st_size > 0, name
    report = (out / "report.md").read_text()
    assert "KL[q(z|x)||p_{prior}(z)]" in report
    assert report.count("\n| ") >= 4  # header + 3 epochs


def test_demo_rejects_bad_arguments(tmp_path: Path) -> None:
    demo = _load_demo()
    with pytest.raises(SystemExit):
        demo.main(["--epochs", "0", "--out", str(tmp_path)])
