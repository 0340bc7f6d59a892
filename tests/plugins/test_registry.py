"""The registry in process: plugins registered in code, in an isolated registry."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
import torch

import dgmcore
import dgmcore.distributions as D
import dgmcore.models as M
from dgmcore import plugins
from dgmcore.errors import AmbiguousNameError, PluginError, PluginWarning, UnknownNameError

ROOT_CONFTEST = Path(dgmcore.__file__).resolve().parents[1] / "conftest.py"
PLAIN_ENV = """
import dgmcore

class EnvModel:
    pass

@dgmcore.hookimpl
def register_models():
    return [EnvModel]
"""


def module(name: str, **hooks) -> types.ModuleType:
    """A plugin module whose functions are the given hook implementations."""
    mod = types.ModuleType(name)
    for hook, fn in hooks.items():
        fn.__name__ = hook
        fn.__module__ = name
        setattr(mod, hook, dgmcore.hookimpl(fn))
    return mod


class Alpha:
    pass


class Beta:
    pass


def test_register_unregister_and_generation(registry):
    g0 = plugins.generation()
    status = plugins.register(module("alpha_plugin", register_models=lambda: [Alpha]), name="alpha")
    assert (status.name, status.source, status.status) == ("alpha", "programmatic", "ok")
    assert status.provides == {"models": ["Alpha"]} and status.hooks == ["register_models"]
    assert plugins.generation() > g0
    assert M.Alpha is Alpha and M.get("Alpha") is Alpha and "Alpha" in dir(M)
    assert plugins.names("models") == ["Alpha"]
    g1 = plugins.generation()
    plugins.unregister("alpha")
    assert plugins.generation() > g1
    assert not hasattr(M, "Alpha")
    with pytest.raises(UnknownNameError):
        M.get("Alpha")


def test_register_rejects_taken_names_and_objects(registry):
    mod = module("alpha_plugin", register_models=lambda: [Alpha])
    plugins.register(mod, name="alpha")
    with pytest.raises(PluginError, match="already registered"):
        plugins.register(module("other", register_models=lambda: [Beta]), name="alpha")
    with pytest.raises(PluginError, match="already registered as 'alpha'"):
        plugins.register(mod, name="alpha-again")
    with pytest.raises(PluginError, match="no dgmcore plugin is named 'nope'"):
        plugins.unregister("nope")
    plugins.unregister("alpha")


def test_object_plugin_and_qualified_lookup_errors(registry):
    class ObjectPlugin:
        @dgmcore.hookimpl
        def register_models(self):
            return [Beta]

    plugins.register(ObjectPlugin(), name="object-plugin")
    assert plugins.get("models", "Beta", plugin="object-plugin") is Beta
    with pytest.raises(UnknownNameError, match="provides no models named 'Alpha'"):
        plugins.get("models", "Alpha", plugin="object-plugin")
    with pytest.raises(PluginError, match="no dgmcore plugin is named"):
        plugins.get("models", "Beta", plugin="missing")
    with pytest.raises(dgmcore.DGMError, match="unknown namespace kind"):
        plugins.get("widgets", "Beta")
    plugins.unregister("object-plugin")


def test_same_class_from_two_plugins_is_no_conflict(registry):
    plugins.register(module("one", register_models=lambda: [Alpha]), name="one")
    plugins.register(module("two", register_models=lambda: [Alpha]), name="two")
    assert M.Alpha is Alpha


def test_conflict_warns_once_and_raises_on_use(registry):
    class Gamma:
        pass

    class OtherGamma:
        pass

    OtherGamma.__name__ = "Gamma"
    plugins.register(module("one", register_models=lambda: [Gamma]), name="one")
    with pytest.warns(PluginWarning, match="provided by 'one' .* and 'two'"):
        plugins.register(module("two", register_models=lambda: [OtherGamma]), name="two")
    with pytest.raises(AmbiguousNameError, match="plugin='one'"):
        _ = M.Gamma
    assert M.get("Gamma", plugin="two") is OtherGamma
    plugins.unregister("one")
    assert M.Gamma is OtherGamma  # resolved once one provider is gone


def test_plugin_cannot_shadow_a_core_name(registry):
    class ParametricDistribution:
        pass

    with pytest.warns(PluginWarning, match="core name of dgmcore.distributions"):
        plugins.register(module("shadow", register_distributions=lambda: [ParametricDistribution]),
                         name="shadow")
    assert D.ParametricDistribution is not ParametricDistribution
    assert D.get("ParametricDistribution", plugin="shadow") is ParametricDistribution


@pytest.mark.parametrize(
    ("hooks", "reason"),
    [
        ({"register_models": lambda: [1]}, "register_models() must return classes, got 1"),
        ({"register_models": lambda: None}, "register_models() returned None"),
        ({"register_losses": lambda: Alpha}, "register_losses() must return a list"),
        ({"register_kl": lambda: [(Alpha, Beta)]}, "must return (type_p, type_q, fn) tuples"),
        ({"register_entropy": lambda: [(Alpha, 3)]}, "must return (type, fn) tuples"),
        ({"register_datasets": lambda: {"x": 3}}, "must return a dict of name -> zero-argument"),
        ({"register_flows": lambda: 1 / 0}, "register_flows() raised ZeroDivisionError"),
    ],
    ids=["not-a-class", "none", "not-a-list", "kl-shape", "entropy-shape", "dataset", "raises"],
)
def test_malformed_registrations_break_the_plugin(registry, hooks, reason):
    with pytest.warns(PluginWarning, match="'bad' .* is broken"):
        status = plugins.register(module("bad", **hooks), name="bad")
    assert status.status == "broken" and reason in status.reason
    assert status.provides == {}


def test_kl_entropy_and_datasets(registry):
    def kl(p, q):
        return torch.zeros(())

    def ent(p):
        return torch.ones(())

    digits = torch.arange(12.0).reshape(3, 4)  # stands for bundled data
    plugins.register(module("data", register_kl=lambda: [(Alpha, Beta, kl)],
                            register_entropy=lambda: [(Alpha, ent)],
                            register_datasets=lambda: {"tiny": lambda: digits}), name="data")
    assert plugins.kl_pairs() == [(Alpha, Beta, kl)]
    assert plugins.entropy_fns() == [(Alpha, ent)]
    assert set(plugins.datasets()) == {"tiny"}
    assert plugins.load_dataset("tiny") is digits
    with pytest.raises(UnknownNameError, match="data set 'huge'"):
        plugins.load_dataset("huge")
    with pytest.warns(PluginWarning, match="data set 'tiny' is registered by several"):
        plugins.register(module("data2", register_datasets=lambda: {"tiny": lambda: None}),
                         name="data2")
    assert plugins.datasets() == {}
    with pytest.raises(AmbiguousNameError, match="'data' and 'data2'"):
        plugins.load_dataset("tiny")
    assert plugins.load_dataset("tiny", plugin="data") is digits
    status = {s.name: s for s in plugins.statuses()}["data"]
    assert status.provides == {"kl": ["Alpha||Beta"], "entropy": ["Alpha"], "datasets": ["tiny"]}


def test_demos_are_named_callables_and_never_shadow(registry, tmp_path):
    def demo(out, *, epochs=None, seed=0, device="cpu", quick=False):
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(f"epochs={epochs} seed={seed} quick={quick}")
        return out

    plugins.register(module("show", register_demos=lambda: {"tiny": demo}), name="show")
    assert plugins.demos() == {"tiny": demo}
    assert plugins.demos()["tiny"](tmp_path / "run", seed=3, quick=True) == tmp_path / "run"
    assert (tmp_path / "run" / "report.md").read_text() == "epochs=None seed=3 quick=True"
    status = {s.name: s for s in plugins.statuses()}["show"]
    assert status.provides == {"demos": ["tiny"]}
    with pytest.warns(PluginWarning, match="is broken"):
        bad = plugins.register(module("bad-demo", register_demos=lambda: {"x": 3}), name="bad-demo")
    assert bad.status == "broken" and "must return a dict of name -> demo function" in bad.reason
    with pytest.warns(PluginWarning, match="demo 'tiny' is registered by several"):
        plugins.register(module("show2", register_demos=lambda: {"tiny": demo}), name="show2")
    assert plugins.demos() == {}


class LifecycleSpecs:
    @dgmcore.hookspecs.hookspec
    def on_test_event(self, value):
        """Called by the test; returns anything."""


def test_add_hookspecs_and_guarded_call_hook(registry):
    plugins.add_hookspecs(LifecycleSpecs)
    seen = []

    def good(value):
        seen.append(value)
        return value * 2

    def bad(value):
        raise ValueError("nope")

    plugins.register(module("good", on_test_event=good), name="good")
    plugins.register(module("bad", on_test_event=bad), name="bad")
    with pytest.warns(PluginWarning, match=r"'bad' .*on_test_event\(\) raised ValueError: nope"):
        results = plugins.call_hook("on_test_event", value=21)
    assert results == [("good", 42)] and seen == [21]
    assert {s.name: s.status for s in plugins.statuses()} == {"good": "ok", "bad": "broken"}
    assert plugins.call_hook("on_test_event", value=1) == [("good", 2)]  # bad stays out


def test_add_hookspecs_requires_docstrings(registry):
    class Undocumented:
        @dgmcore.hookspecs.hookspec
        def on_silent(self):
            pass

    with pytest.raises(PluginError, match="no docstring"):
        plugins.add_hookspecs(Undocumented)
    with pytest.raises(PluginError, match="no function marked"):
        plugins.add_hookspecs(Alpha)


def test_hook_wrappers_are_refused(registry):
    class Wrapper:
        @dgmcore.hookimpl(wrapper=True)
        def register_models(self):
            return (yield)

    with pytest.warns(PluginWarning, match="wrappers are not supported"):
        assert plugins.register(Wrapper(), name="wrapper").status == "broken"


def test_private_names_do_not_discover(registry):
    plugins.reset(entry_points=False)
    with pytest.raises(AttributeError):
        _ = D._not_there
    assert not plugins._state.discovered
    assert D.__name__ == "dgmcore.distributions"


def test_isolated_registry_ignores_installed_plugins(registry):
    assert [s.source for s in plugins.statuses()] == []
    assert isinstance(plugins.manager(), type(registry))


@pytest.mark.parametrize("kind", plugins.KINDS)
def test_every_kind_reaches_its_namespace(registry, kind):
    import importlib

    hooks = {
        "distributions": {"register_distributions": lambda: [Alpha]},
        "losses": {"register_losses": lambda: [Alpha]},
        "flows": {"register_flows": lambda: [Alpha]},
        "models": {"register_models": lambda: [Alpha]},
    }[kind]
    plugins.register(module(f"{kind}_plugin", **hooks), name=f"{kind}-plugin")
    namespace = importlib.import_module(f"dgmcore.{kind}")
    assert namespace.Alpha is Alpha and "Alpha" in dir(namespace)
    assert namespace.get("Alpha", plugin=f"{kind}-plugin") is Alpha
    others = [k for k in plugins.KINDS if k != kind]
    assert all(plugins.names(k) == [] for k in others)


def test_isolated_ignores_env_plugins(monkeypatch):
    monkeypatch.setenv("DGMCORE_PLUGINS", "json")  # any importable module
    with plugins.isolated():
        assert plugins.statuses() == []
    with plugins.isolated(entry_points=False):
        plugins.reset(entry_points=False, env=True)  # what a suite wanting env plugins does
        assert [(s.name, s.source) for s in plugins.statuses()] == [("json", "env")]


def test_suite_loads_only_first_party_entry_points(fake_site):
    """The root conftest.py keeps the plugins a user installed out of the suite.

    Run where a user plugin *is* installed (a fake wheel, and one named in
    ``DGMCORE_PLUGINS``): without the filter both load, with the root conftest's
    ``pytest_configure`` neither does, while a first-party entry point still loads.
    """
    fake_site.plain("dgmtest-user", "UserModel")
    fake_site.plain("dgmcore-trainers", "FakeTrainer", module="fake_trainers")
    fake_site.module("user_env_plugin.py", PLAIN_ENV)
    result = fake_site.run(
        f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location("root_conftest", {str(ROOT_CONFTEST)!r})
        root = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(root)
        from dgmcore import plugins
        def loaded():
            return sorted((s.name, s.distribution, s.source) for s in plugins.statuses() if s.status == "ok")
        before = loaded()
        root.pytest_configure(type("Config", (), {{"addinivalue_line": lambda *a: None}})())
        emit([before, loaded(), list(root.FIRST_PARTY)])
        """,
        DGMCORE_PLUGINS="user_env_plugin",
    )
    before, after, first_party = result
    names = {name for name, _, _ in before}
    assert {"dgmtest-user", "user_env_plugin", "dgmcore-trainers"} <= names  # the filter has work
    loaded = {name for name, _, _ in after}
    assert "dgmtest-user" not in loaded and "user_env_plugin" not in loaded
    assert "dgmcore-trainers" in loaded
    assert {dist for _, dist, _ in after} <= set(first_party)


def test_unknown_attribute_error_is_an_errors_class():
    from dgmcore.errors import UnknownAttributeError

    assert plugins.UnknownAttributeError is UnknownAttributeError
    assert issubclass(UnknownAttributeError, AttributeError) and issubclass(UnknownAttributeError,
                                                                           dgmcore.DGMError)
    with plugins.isolated():
        assert not hasattr(D, "NoSuchFamily")
        with pytest.raises(UnknownAttributeError, match="no installed dgmcore plugin"):
            _ = D.NoSuchFamily
