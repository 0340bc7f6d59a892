"""The plugin itself: its entry point, hooks that return data, and the dgmcore namespaces."""

from __future__ import annotations

import inspect
from pathlib import Path

import dgmcore_flows
import pytest
from dgmcore_flows import plugin

import dgmcore
from dgmcore import plugins
from dgmcore.errors import UnknownNameError

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_declares_the_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'name = "dgmcore-flows"' in text
    assert '[project.entry-points."dgmcore.plugins"]\nflows = "dgmcore_flows.plugin"' in text
    assert 'dependencies = ["dgmcore' in text


def test_plugin_module_holds_only_hook_implementations():
    functions = [
        f for _, f in inspect.getmembers(plugin, inspect.isfunction) if f.__module__ == plugin.__name__
    ]
    assert functions and all(hasattr(f, "dgmcore_impl") for f in functions)
    assert {f.__name__ for f in functions} == {"register_flows", "register_distributions", "register_demos"}


def test_hooks_return_fresh_lists():
    first = plugin.register_flows()
    first.clear()
    assert plugin.register_flows() == list(dgmcore_flows.FLOWS)
    assert plugin.register_distributions() == list(dgmcore_flows.DISTRIBUTIONS)


def test_registered_plugin_fills_the_namespaces(flows_plugin):
    from dgmcore.distributions import InverseTransformedDistribution
    from dgmcore.flows import MAF, RealNVP

    assert MAF is dgmcore_flows.MAF and RealNVP is dgmcore_flows.RealNVP
    assert InverseTransformedDistribution is dgmcore_flows.InverseTransformedDistribution
    assert sorted(flows_plugin.provides["flows"]) == sorted(c.__name__ for c in dgmcore_flows.FLOWS)
    assert set(dir(dgmcore.flows)) >= {c.__name__ for c in dgmcore_flows.FLOWS}


def test_without_the_plugin_the_error_names_the_package():
    plugins.unregister("dgmcore-flows")
    try:
        with pytest.raises(UnknownNameError, match="PlanarFlow.*dgmcore-flows"):
            from dgmcore.flows import PlanarFlow  # noqa: F401
    finally:
        plugins.register(plugin, name="dgmcore-flows")
