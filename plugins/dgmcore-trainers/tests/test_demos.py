"""``dgm demo``: the vae and cvae demos end to end (quick mode), the options, missing demos."""

from __future__ import annotations

import pytest
import torch
from dgmcore_trainers import read_metrics

from dgmcore import plugins
from dgmcore.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_demo_runs_end_to_end_and_writes_its_files(name, tmp_path, capsys):
    assert main(["demo", name, "--quick", "--out", str(tmp_path), "--seed", "3"]) == 0
    printed = capsys.readouterr()
    assert f"see {tmp_path}/report.md" in printed.out
    assert "epoch 2/2" in printed.err  # the progress bar
    for picture in ("samples.png", "reconstructions.png", "loss.png"):
        assert (tmp_path / picture).read_bytes()[:8] == PNG, picture
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and all("valid_loss" in r for r in rows)
    report = (tmp_path / "report.md").read_text()
    for needle in ("KL[q(z|", "latent-ignored baseline log-likelihood (exact)",
                   "test log-likelihood (importance sampled, k=20)", "Training ",
                   f"dgm demo {name} --epochs 2 --seed 3 --device cpu --out {tmp_path}"):
        assert needle in report, needle


def test_demo_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option, default in [("--epochs", "the demo's own"), ("--out", "runs/NAME"), ("--seed", "0"),
                            ("--device", "cpu"), ("--quick", "off")]:
        assert option in text and f"(default: {default}" in text, option


@pytest.mark.parametrize("name,package", [("gan", "dgmcore-adversarial"), ("flow", "dgmcore-flows"),
                                          ("dmm", "dgmcore-timeseries")])
def test_a_demo_whose_plugin_is_missing_names_its_package(name, package, capsys):
    assert name not in plugins.demos()  # the tests load only the families and this plugin
    assert main(["demo", name]) == 1
    assert f"pip install {package}" in capsys.readouterr().err


def test_demo_without_a_name_lists_the_demos(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "cvae, vae" in out and "gan: pip install dgmcore-adversarial" in out


def test_the_demos_are_registered_through_the_hook():
    demos = plugins.demos()
    assert {"vae", "cvae"} <= set(demos)


@pytest.mark.parametrize("device, says", [
    ("nonsense", "is not a torch device"),
    ("cuda:1", "CUDA is not available" if not torch.cuda.is_available() else "device type alone"),
    ("cuda", "CUDA is not available" if not torch.cuda.is_available() else None),
])
def test_a_device_this_machine_cannot_train_on_is_refused_before_training(device, says, tmp_path, capsys):
    """A clear error and exit status 2, nothing written; a GPU machine trains on --device cuda."""
    if says is None:  # this machine has a GPU: the demo trains on it
        assert main(["demo", "vae", "--quick", "--device", device, "--out", str(tmp_path)]) == 0
        return
    assert main(["demo", "vae", "--quick", "--device", device, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dgm demo: error: --device") and says in err
    assert not any(tmp_path.iterdir())
