"""The plugin itself: its entry point, hooks that return data, and the dgmcore namespaces."""

from __future__ import annotations

import inspect
from pathlib import Path

import dgmcore_families
import pytest
import torch
from dgmcore_families import plugin

import dgmcore
from dgmcore import plugins
from dgmcore.errors import UnknownNameError

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_declares_the_entry_point():
    text = (ROOT / "pyproject.toml").read_text()  # (tomllib is 3.11+; dgmcore supports 3.10)
    assert 'name = "dgmcore-families"' in text
    assert '[project.entry-points."dgmcore.plugins"]\nfamilies = "dgmcore_families.plugin"' in text
    assert 'dependencies = ["dgmcore' in text


def test_plugin_module_holds_only_hook_implementations():
    functions = [
        f for name, f in inspect.getmembers(plugin, inspect.isfunction) if f.__module__ == plugin.__name__
    ]
    assert functions and all(hasattr(f, "dgmcore_impl") for f in functions)
    assert {f.__name__ for f in functions} == {"register_distributions", "register_kl", "register_entropy"}


def test_hooks_return_fresh_data_and_mutate_nothing():
    before = (list(dgmcore_families.FAMILIES), [list(m.KL_PAIRS) for m in plugin._MODULES])
    first, again = plugin.register_kl(), plugin.register_kl()
    assert first == again and first is not again
    first.clear()
    plugin.register_distributions().clear()
    plugin.register_entropy().clear()
    assert (list(dgmcore_families.FAMILIES), [list(m.KL_PAIRS) for m in plugin._MODULES]) == before
    for p, q, fn in plugin.register_kl():
        # keyed by the plugin's families, or by the torch.distributions subclasses they build:
        # another plugin's pair of families is never overridden
        if issubclass(p, torch.distributions.Distribution):
            assert issubclass(q, torch.distributions.Distribution)
            assert q.__module__.startswith("dgmcore_families.")
        else:
            assert p in dgmcore_families.FAMILIES and q in dgmcore_families.FAMILIES
        assert callable(fn)


def test_registered_plugin_fills_the_namespace(families_plugin):
    from dgmcore.distributions import MixtureOfExperts, Normal

    assert Normal is dgmcore_families.Normal and MixtureOfExperts is dgmcore_families.MixtureOfExperts
    assert families_plugin.status == "ok"
    assert sorted(families_plugin.provides["distributions"]) == sorted(
        c.__name__ for c in dgmcore_families.FAMILIES
    )
    assert set(dir(dgmcore.distributions)) >= {c.__name__ for c in dgmcore_families.FAMILIES}


def test_without_the_plugin_the_error_names_the_package():
    plugins.unregister("dgmcore-families")
    try:
        hint = r"provided by the first-party plugin dgmcore-families \(plugins/dgmcore-families; "
        with pytest.raises(UnknownNameError, match=hint):
            from dgmcore.distributions import Normal  # noqa: F401
    finally:
        plugins.register(plugin, name="dgmcore-families")


def test_registered_kl_pair_is_found_by_the_loss():
    from dgmcore.losses import KullbackLeibler

    q = dgmcore_families.Categorical(probs=torch.tensor([0.5, 0.5]), var=["y"], name="q")
    p = dgmcore_families.OneHotCategorical(probs=torch.tensor([0.9, 0.1]), var=["y"])
    expected = 0.5 * torch.log(torch.tensor(0.5 / 0.9)) + 0.5 * torch.log(torch.tensor(0.5 / 0.1))
    torch.testing.assert_close(KullbackLeibler(q, p).eval({}), expected)


def test_registered_entropy_is_used():
    p = dgmcore_families.Poisson(rate=torch.tensor([3.0]), var=["n"])
    k = torch.arange(100.0)
    pmf = torch.distributions.Poisson(3.0).log_prob(k)
    torch.testing.assert_close(p.get_entropy(), -(pmf.exp() * pmf).sum())
