"""Installed plugins, as importlib-metadata sees wheels, each scenario in a fresh interpreter.

Scenarios that need no tensor use ``dgmcore.plugins`` directly and never
import torch, so they start in a fraction of a second.
"""

from __future__ import annotations

import pytest

#: A third-party family, written exactly as the design document shows.
VONMISES = """
import torch

import dgmcore
from dgmcore.distributions import ParametricDistribution

DGMCORE_API_VERSION = "1.0"


class VonMises(ParametricDistribution):
    family = torch.distributions.VonMises
    params = ("loc", "concentration")


def _kl(p, q):  # a marker value, so the test sees this function was used
    return torch.full_like(p.loc, 7.0)


@dgmcore.hookimpl
def register_distributions():
    return [VonMises]


@dgmcore.hookimpl
def register_kl():
    return [(VonMises, VonMises, _kl)]


@dgmcore.hookimpl
def register_entropy():
    return [(VonMises, lambda p: torch.full_like(p.loc, 5.0))]
"""


def test_third_party_family_appears_in_distributions(fake_site):
    fake_site.dist("dgmtest-vonmises", {"vonmises": "dgmtest_vonmises"},
                   {"dgmtest_vonmises.py": VONMISES}, version="0.3.1")
    result = fake_site.run(
        """
        import dgmcore, torch
        from dgmcore import plugins
        after_import = [m for m in sys.modules if m.startswith("dgmtest")]
        import dgmcore.distributions as D
        lazy = not plugins._state.discovered
        from dgmcore.distributions import VonMises
        from dgmcore.losses import Entropy, KullbackLeibler
        p = VonMises(loc=0.0, concentration=2.0, var=["a"], features_shape=[3])
        q = VonMises(loc=1.0, concentration=1.0, var=["a"], features_shape=[3])
        x = p.sample(batch_n=4)["a"]
        ref = torch.distributions.VonMises(torch.tensor(0.0), torch.tensor(2.0)).log_prob(x).sum(-1)
        status = plugins.statuses()[0]
        emit({
            "after_import": after_import, "lazy": lazy, "module": VonMises.__module__,
            "shape": list(x.shape), "log_prob_ok": torch.allclose(p.get_log_prob({"a": x}), ref),
            "kl": KullbackLeibler(p, q).eval().tolist(), "entropy": p.get_entropy().tolist(),
            "in_dir": "VonMises" in dir(D), "status": status.as_dict(), "warnings": warned(),
        })
        """
    )
    assert result["after_import"] == [] and result["lazy"]
    assert result["module"] == "dgmtest_vonmises"
    assert result["shape"] == [4, 3] and result["log_prob_ok"]
    assert result["kl"] == pytest.approx(21.0) or result["kl"] == pytest.approx([21.0])
    assert result["entropy"] == pytest.approx(15.0) or result["entropy"] == pytest.approx([15.0])
    assert result["in_dir"]
    status = result["status"]
    assert status["name"] == "dgmtest-vonmises" and status["version"] == "0.3.1"
    assert status["source"] == "entry point" and status["status"] == "ok"
    assert status["provides"] == {"distributions": ["VonMises"], "kl": ["VonMises||VonMises"],
                                  "entropy": ["VonMises"]}
    assert result["warnings"] == []


def test_broken_import_is_isolated(fake_site):
    fake_site.dist("dgmtest-broken", {"broken": "dgmtest_broken"},
                   {"dgmtest_broken.py": "import dgmtest_missing_dependency\n"})
    fake_site.plain("dgmtest-good", "GoodModel")
    result = fake_site.run(
        """
        from dgmcore import plugins
        good = plugins.get("models", "GoodModel").__name__
        again = plugins.get("models", "GoodModel").__name__  # no second warning
        emit({"good": good, "statuses": {s.name: s.as_dict() for s in plugins.statuses()},
              "warnings": warned()})
        """
    )
    assert result["good"] == "GoodModel"
    broken = result["statuses"]["dgmtest-broken"]
    assert broken["status"] == "broken"
    assert "dgmtest_missing_dependency" in broken["reason"] and "ModuleNotFoundError" in broken["reason"]
    assert result["statuses"]["dgmtest-good"]["status"] == "ok"
    assert len(result["warnings"]) == 1 and "dgmtest-broken" in result["warnings"][0]


def test_raising_hook_is_isolated(fake_site):
    fake_site.dist("dgmtest-raiser", {"raiser": "dgmtest_raiser"}, {"dgmtest_raiser.py": """
        import dgmcore

        class Fine:
            pass

        @dgmcore.hookimpl
        def register_models():
            return [Fine]

        @dgmcore.hookimpl
        def register_losses():
            raise RuntimeError("boom")
        """})
    fake_site.plain("dgmtest-good", "GoodModel")
    result = fake_site.run(
        """
        from dgmcore import plugins
        fine = "found" if "Fine" in plugins.names("models") else "unknown"
        emit({"fine": fine, "good": plugins.get("models", "GoodModel").__name__,
              "statuses": {s.name: s.as_dict() for s in plugins.statuses()}, "warnings": warned()})
        """
    )
    raiser = result["statuses"]["dgmtest-raiser"]
    assert raiser["status"] == "broken"
    assert raiser["reason"] == "register_losses() raised RuntimeError: boom"
    assert raiser["provides"] == {}
    assert result["fine"] == "unknown"  # a broken plugin contributes nothing
    assert result["good"] == "GoodModel"
    assert len(result["warnings"]) == 1 and "boom" in result["warnings"][0]


def test_incompatible_api_version_and_bad_hooks_are_broken(fake_site):
    fake_site.plain("dgmtest-api2", "Api2", extra='DGMCORE_API_VERSION = "2.0"\n')
    fake_site.plain("dgmtest-api19", "Api19", extra='DGMCORE_API_VERSION = "1.9"\n')
    fake_site.plain("dgmtest-api10", "Api10", extra='DGMCORE_API_VERSION = "1.0"\n')
    fake_site.dist("dgmtest-typo", {"typo": "dgmtest_typo"}, {"dgmtest_typo.py": """
        import dgmcore

        @dgmcore.hookimpl
        def register_distribution():
            return []
        """})
    fake_site.dist("dgmtest-unmarked", {"unmarked": "dgmtest_unmarked"}, {"dgmtest_unmarked.py": """
        def register_models():
            return []
        """})
    fake_site.dist("dgmtest-optional", {"optional": "dgmtest_optional"}, {"dgmtest_optional.py": """
        import dgmcore

        @dgmcore.hookimpl(optionalhook=True)
        def on_some_other_plugins_hook():
            pass
        """})
    result = fake_site.run(
        """
        from dgmcore import plugins
        emit({"statuses": {s.name: s.as_dict() for s in plugins.statuses()}, "warnings": warned()})
        """
    )
    st = result["statuses"]
    assert st["dgmtest-api2"]["status"] == "broken" and "'2.0'" in st["dgmtest-api2"]["reason"]
    assert "plugin API 1.0" in st["dgmtest-api2"]["reason"]
    assert st["dgmtest-api19"]["status"] == "broken"  # needs a newer minor than this core
    assert st["dgmtest-api10"]["status"] == "ok"
    assert st["dgmtest-typo"]["status"] == "broken"
    assert "'register_distribution'" in st["dgmtest-typo"]["reason"]
    assert "did you mean 'register_distributions'" in st["dgmtest-typo"]["reason"]
    assert st["dgmtest-unmarked"]["status"] == "broken"
    assert "without @dgmcore.hookimpl" in st["dgmtest-unmarked"]["reason"]
    assert st["dgmtest-optional"]["status"] == "ok"
    assert len(result["warnings"]) == 4


def test_disable_by_env(fake_site):
    fake_site.plain("dgmtest-a", "ModelA")
    fake_site.plain("dgmtest-b", "ModelB")
    fake_site.plain("dgmtest-c", "ModelC", module="dgmtest_c_ext")
    result = fake_site.run(
        """
        from dgmcore import plugins
        names = plugins.names("models")
        emit({"names": names, "imported": sorted(m for m in sys.modules if m.startswith("dgmtest")),
              "statuses": {s.name: [s.status, s.reason] for s in plugins.statuses()},
              "warnings": warned()})
        """,
        # by the name `dgm plugins` shows, and by the module name
        DGMCORE_DISABLE_PLUGINS="dgmtest-a, dgmtest_c_ext",
    )
    assert result["names"] == ["ModelB"]
    assert result["imported"] == ["dgmtest_b"]  # disabled plugins are never imported
    assert result["statuses"]["dgmtest-a"] == ["disabled", "disabled by DGMCORE_DISABLE_PLUGINS"]
    assert result["statuses"]["dgmtest-c"][0] == "disabled"
    assert result["warnings"] == []


def test_private_module_by_env(fake_site):
    fake_site.module("private_ext/plugin.py", fake_site.PLAIN.format(cls="PrivateModel"))
    fake_site.module("private_ext/__init__.py", "__version__ = '0.0.7'\n")
    result = fake_site.run(
        """
        from dgmcore import plugins
        emit({"cls": plugins.get("models", "PrivateModel").__module__,
              "statuses": [s.as_dict() for s in plugins.statuses()], "warnings": warned()})
        """,
        DGMCORE_PLUGINS="private_ext.plugin,no_such_module",
    )
    assert result["cls"] == "private_ext.plugin"
    ok, missing = result["statuses"]
    assert ok["name"] == "private_ext.plugin" and ok["source"] == "env" and ok["status"] == "ok"
    assert ok["version"] == "0.0.7"  # the package's __version__
    assert ok["provides"] == {"models": ["PrivateModel"]}
    assert missing["name"] == "no_such_module" and missing["status"] == "broken"
    assert len(result["warnings"]) == 1


def test_programmatic_register_and_unregister_after_discovery(fake_site):
    fake_site.plain("dgmtest-a", "ModelA")
    result = fake_site.run(
        """
        import types
        import dgmcore
        import dgmcore.flows as F  # the flows namespace needs no torch import
        from dgmcore import plugins
        out = {"first": plugins.get("models", "ModelA").__name__}
        g0 = plugins.generation()

        class Late:
            pass

        mod = types.ModuleType("late_plugin")
        mod.register_flows = dgmcore.hookimpl(lambda: [Late])
        mod.register_flows.__name__ = "register_flows"
        status = plugins.register(mod, name="late")
        out["status"] = status.as_dict()
        out["late"] = F.Late is Late and "Late" in dir(F)
        out["moved"] = plugins.generation() > g0
        plugins.unregister("late")
        out["gone"] = "Late" not in dir(F)
        plugins.unregister("dgmtest-a")  # installed plugins can be removed too
        out["gone_a"] = "ModelA" not in plugins.names("models")
        out["names"] = [s.name for s in plugins.statuses()]
        emit(out)
        """
    )
    assert result["first"] == "ModelA"
    assert result["status"]["source"] == "programmatic" and result["status"]["status"] == "ok"
    assert result["status"]["provides"] == {"flows": ["Late"]}
    assert result["late"] and result["moved"] and result["gone"] and result["gone_a"]
    assert result["names"] == []
