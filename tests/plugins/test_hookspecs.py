"""Meta-tests: every hook is documented, and every hook is exercised by a test."""

from __future__ import annotations

import re
from pathlib import Path

import pluggy
import pytest

from dgmcore import hookspecs

SPECS = sorted(
    name for name in dir(hookspecs)
    if pluggy.PluginManager("dgmcore").parse_hookspec_opts(hookspecs, name) is not None
)
TESTS = [p for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name]


def test_the_hooks_of_the_design():
    assert SPECS == sorted(hookspecs.__all__[1:])
    assert {"register_distributions", "register_losses", "register_flows", "register_models",
            "register_kl", "register_entropy", "register_datasets", "register_demos",
            "register_commands"} == set(SPECS)


@pytest.mark.parametrize("name", SPECS)
def test_hookspec_is_documented(name):
    doc = getattr(hookspecs, name).__doc__ or ""
    assert doc.strip(), f"hookspec {name} has no docstring"
    assert "Called" in doc, f"{name}'s docstring must say when it is called"
    assert "Returns:" in doc, f"{name}'s docstring must say what it returns"


@pytest.mark.parametrize("name", SPECS)
def test_hookspec_is_exercised(name):
    # An implementation in a test: `def name(` in a fake plugin, `name=` or `"name":`
    # in the hooks given to an in-process plugin.
    pattern = re.compile(rf"(def {name}\(|\b{name}=|\"{name}\":)")
    users = [p.name for p in TESTS if pattern.search(p.read_text(encoding="utf-8"))]
    assert users, f"no test implements the hook {name}"
