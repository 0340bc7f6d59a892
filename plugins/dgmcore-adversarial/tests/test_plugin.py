"""The plugin itself: its entry point, hooks that return data, the losses namespace and the demo."""

from __future__ import annotations

import csv
import inspect
from pathlib import Path

import dgmcore_adversarial
from dgmcore_adversarial import plugin

from dgmcore import plugins

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_declares_the_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'name = "dgmcore-adversarial"' in text
    assert '[project.entry-points."dgmcore.plugins"]\nadversarial = "dgmcore_adversarial.plugin"' in text


def test_plugin_module_holds_only_hook_implementations():
    functions = [
        f for _, f in inspect.getmembers(plugin, inspect.isfunction) if f.__module__ == plugin.__name__
    ]
    assert functions and all(hasattr(f, "dgmcore_impl") for f in functions)
    assert {f.__name__ for f in functions} == {"register_losses", "register_demos"}


def test_hooks_return_fresh_data():
    first = plugin.register_losses()
    first.clear()
    assert plugin.register_losses() == list(dgmcore_adversarial.LOSSES)


def test_registered_plugin_fills_the_losses_namespace(adversarial_plugin):
    from dgmcore.losses import MMD, AdversarialJensenShannon, TotalCorrelation

    assert AdversarialJensenShannon is dgmcore_adversarial.AdversarialJensenShannon
    assert MMD is dgmcore_adversarial.MMD and TotalCorrelation is dgmcore_adversarial.TotalCorrelation
    names = sorted(c.__name__ for c in dgmcore_adversarial.LOSSES)
    assert sorted(adversarial_plugin.provides["losses"]) == names


def test_the_gan_demo_runs_through_the_hook_in_quick_mode(tmp_path):
    demo = plugins.demos()["gan"]
    out = demo(tmp_path / "gan", quick=True, seed=3)
    assert out == tmp_path / "gan"
    for name in ("samples.png", "loss.png", "metrics.csv", "report.md"):
        assert (out / name).stat().st_size > 0, name
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) == 2 and all(float(r["mmd"]) == float(r["mmd"]) for r in rows)  # 2 epochs, no NaN
    assert "Reproduce: `dgm demo gan --epochs 2 --seed 3`" in (out / "report.md").read_text()
