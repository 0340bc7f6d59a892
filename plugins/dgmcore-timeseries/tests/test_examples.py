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
        ["--pieces", "3", "--epochs", "2", "--z", "4", "--emission", "16", "--transition", "16", "--rnn", "16",
         "--json", str(tmp_path / "r.json")]
    )
    by = {r["framework"]: r for r in results}
    assert set(by) == {"dgmcore", "hand", "pyro"}
    for name in ("hand", "pyro"):  # same weights, batches, noise and optimizer: the same training
        assert by[name]["test_nelbo_per_frame"] == pytest.approx(by["dgmcore"]["test_nelbo_per_frame"], rel=1e-3)
    curve = by["dgmcore"]["valid_curve"]
    assert curve[-1] < curve[0]
    assert (tmp_path / "r.json").stat().st_size > 0


def test_dmm_chorales_rejects_bad_arguments():
    with pytest.raises(SystemExit):
        load("dmm_chorales").main(["--epochs", "0"])
