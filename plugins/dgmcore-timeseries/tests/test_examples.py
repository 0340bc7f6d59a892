"""The example scripts (examples/dmm_*.py, vrnn_*.py, tdvae_*.py) run end to end in quick mode."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_dmm_chorales_dgmcore_hand_written_and_pyro_agree(tmp_path):
    results = load("dmm_chorales").main(
        ["--pieces", "3", "--epochs", "2", "--z", "4", "--emission", "16", "--transition", "16",
         "--rnn", "16", "--json", str(tmp_path / "r.json")]
    )
    by = {r["framework"]: r for r in results}
    assert set(by) == {"dgmcore", "hand", "pyro", "independent keys (baseline)"}
    for name in ("hand", "pyro"):  # same weights, batches, noise and optimizer: the same training
        ours = by["dgmcore"]["test_nelbo_per_frame"]
        assert by[name]["test_nelbo_per_frame"] == pytest.approx(ours, rel=1e-3)
    curve = by["dgmcore"]["valid_curve"]
    assert curve[-1] < curve[0]
    assert (tmp_path / "r.json").stat().st_size > 0


def test_dmm_chorales_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        load("dmm_chorales").main(["--epochs", "0"])


def test_vrnn_chorales_held_out_loss_falls():
    result = load("vrnn_chorales").main(["--pieces", "4", "--epochs", "3", "--batch", "1", "--z", "4",
                                         "--h", "16", "--hidden", "16", "--lr", "1e-2"])
    curve = result["valid_curve"]
    assert all(b < a for a, b in zip(curve, curve[1:], strict=False)), curve  # falls every epoch
    assert curve[-1] < curve[0] - 0.1  # it starts at the independent-keys model: this is what it learned


def test_tdvae_digits_held_out_loss_falls_and_draws_jumps(tmp_path):
    pytest.importorskip("matplotlib")
    args = ["--epochs", "2", "--train", "128", "--batch", "32", "--held-out", "32", "--out", str(tmp_path)]
    result = load("tdvae_digits").main(args)
    curve = result["curve"]
    assert curve[-1] < curve[0]
    assert (tmp_path / "jumpy.png").stat().st_size > 0 and (tmp_path / "report.md").exists()
