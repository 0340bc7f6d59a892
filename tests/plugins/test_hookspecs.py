"""Meta-tests: every hook is documented, and every hook is called and its result used."""

from __future__ import annotations

import types

import pluggy
import pytest

import dgmcore
from dgmcore import cli, hookspecs, plugins
from dgmcore.plugins import KINDS

SPECS = sorted(
    name for name in dir(hookspecs)
    if pluggy.PluginManager("dgmcore").parse_hookspec_opts(hookspecs, name) is not None
)


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


class _Thing:
    pass


def _every_hook(calls: list[str]) -> types.ModuleType:
    """One in-process plugin implementing every hook, each returning a class or value of its own."""
    mod = types.ModuleType("every_hook")
    classes = {kind: type(f"Every{kind.title()}", (_Thing,), {}) for kind in KINDS}
    kl = (classes["distributions"], classes["distributions"], lambda p, q: 0.0)
    entropy = (classes["distributions"], lambda p: 0.0)

    def command(args):
        calls.append("command")
        return 7

    hooks = {
        "register_distributions": lambda: [classes["distributions"]],
        "register_losses": lambda: [classes["losses"]],
        "register_flows": lambda: [classes["flows"]],
        "register_models": lambda: [classes["models"]],
        "register_kl": lambda: [kl],
        "register_entropy": lambda: [entropy],
        "register_datasets": lambda: {"every-data": lambda: "data"},
        "register_demos": lambda: {"every-demo": lambda **kw: "demo"},
        "register_commands": lambda cli: cli.add("every-cmd", command, help="every hook"),
    }
    for name, fn in hooks.items():
        fn.__name__ = name
        setattr(mod, name, dgmcore.hookimpl(fn))
    mod.expected = {"classes": classes, "kl": kl, "entropy": entropy}
    return mod


def test_every_hook_is_called_and_reaches_its_consumer():
    """Each hook's result is where the core says it goes (not merely named in a test file)."""
    calls: list[str] = []
    mod = _every_hook(calls)
    implemented = {n for n in SPECS if hasattr(mod, n)}
    assert implemented == set(SPECS)  # a new hook must be added here, and exercised
    with plugins.isolated():
        status = plugins.register(mod, name="every-hook")
        assert status.status == "ok", status.reason
        classes = mod.expected["classes"]
        for kind in KINDS:
            assert plugins.get(kind, classes[kind].__name__) is classes[kind]
        assert mod.expected["kl"] in plugins.kl_pairs()
        assert mod.expected["entropy"] in plugins.entropy_fns()
        assert plugins.datasets()["every-data"]() == "data"
        assert plugins.demos()["every-demo"]() == "demo"
        assert cli.main(["every-cmd"]) == 7 and calls == ["command"]
