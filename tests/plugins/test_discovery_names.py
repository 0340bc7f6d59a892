"""Names across installed plugins: conflicts, unknown names, and names taken early.

Each scenario runs in a fresh interpreter over fake installed wheels (see
``conftest.py``); discovery itself is in ``test_discovery.py``.
"""

from __future__ import annotations

CONFLICT = """
import dgmcore

class Planar:
    pass

@dgmcore.hookimpl
def register_flows():
    return [Planar]
"""


def test_two_plugins_same_name(fake_site):
    fake_site.dist("dgmtest-a", {"a": "dgmtest_a"}, {"dgmtest_a.py": CONFLICT})
    fake_site.dist("dgmtest-b", {"b": "dgmtest_b"}, {"dgmtest_b.py": CONFLICT})
    result = fake_site.run(
        """
        import dgmcore.flows as F
        from dgmcore.errors import AmbiguousNameError
        out = {}
        try:
            from dgmcore.flows import Planar
        except AmbiguousNameError as err:
            out["error"] = str(err)
        out["a"] = F.get("Planar", plugin="dgmtest-a").__module__
        out["b"] = F.get("Planar", plugin="dgmtest-b").__module__
        out["warnings"] = warned()
        emit(out)
        """
    )
    assert "'dgmtest-a' (dgmtest_a.Planar)" in result["error"]
    assert "'dgmtest-b' (dgmtest_b.Planar)" in result["error"]
    assert "dgmcore.flows.get('Planar', plugin='dgmtest-a')" in result["error"]
    assert result["a"] == "dgmtest_a" and result["b"] == "dgmtest_b"
    assert len(result["warnings"]) == 1
    assert "dgmtest-a" in result["warnings"][0] and "dgmtest-b" in result["warnings"][0]


def test_unknown_name_message(fake_site):
    result = fake_site.run(
        """
        import dgmcore.distributions as D
        import dgmcore.flows as F
        from dgmcore import plugins
        from dgmcore.errors import DGMError, UnknownNameError
        out = {"private": [getattr(D, "_secret", "absent"), hasattr(D, "__wrapped__")],
               "lazy": not plugins._state.discovered}
        try:
            D.Normal
        except AttributeError as err:
            out["attr"] = [str(err), isinstance(err, DGMError)]
        try:
            from dgmcore.distributions import Normal
        except UnknownNameError as err:
            out["from"] = [str(err), isinstance(err, ImportError)]
        out["hasattr"] = hasattr(D, "Normal")
        try:
            F.PlanarFlow
        except AttributeError as err:
            out["flow"] = str(err)
        try:
            D.NoSuchThing
        except AttributeError as err:
            out["nothing"] = str(err)
        try:
            D.Loss
        except AttributeError as err:
            out["elsewhere"] = str(err)
        emit(out)
        """
    )
    assert result["private"] == ["absent", False] and result["lazy"]
    message, is_dgm = result["attr"]
    assert is_dgm and "no installed dgmcore plugin provides it" in message
    # the first-party plugins are in the checkout's plugins/ folder, not on PyPI: no pip advice
    assert "Normal is provided by the first-party plugin dgmcore-families (plugins/dgmcore-families; " \
        "bash scripts/dev.sh setup installs it)" in message
    assert "pip" not in message
    assert result["from"] == [message, True]
    assert result["hasattr"] is False
    assert "provided by the first-party plugin dgmcore-flows (plugins/dgmcore-flows;" in result["flow"]
    assert "pip" not in result["flow"]
    assert "no installed dgmcore plugin provides it" in result["nothing"] and "pip" not in result["nothing"]
    assert "dgmcore.losses" in result["elsewhere"]


def test_unknown_name_when_first_party_plugin_is_broken(fake_site):
    fake_site.dist("dgmcore-families", {"families": "fake_families"},
                   {"fake_families.py": "raise RuntimeError('half-installed')\n"})
    result = fake_site.run(
        """
        from dgmcore import plugins
        try:
            plugins.get("distributions", "Normal")
        except ImportError as err:
            emit(str(err))
        """
    )
    assert "dgmcore-families is installed but broken" in result and "half-installed" in result


def test_plugin_using_another_plugins_name_at_import(fake_site):
    # dgmtest-a loads first (sorted) and needs dgmtest-z's class while it is imported.
    fake_site.dist("dgmtest-a", {"a": "dgmtest_a"}, {"dgmtest_a.py": """
        import dgmcore
        from dgmcore import plugins

        Base = plugins.get("models", "ZModel")

        class AModel(Base):
            pass

        @dgmcore.hookimpl
        def register_models():
            return [AModel]
        """})
    fake_site.plain("dgmtest-z", "ZModel")
    result = fake_site.run(
        """
        from dgmcore import plugins
        emit({"names": plugins.names("models"), "warnings": warned(),
              "statuses": [(s.name, s.status) for s in plugins.statuses()]})
        """
    )
    assert result["names"] == ["AModel", "ZModel"]
    assert sorted(map(tuple, result["statuses"])) == [("dgmtest-a", "ok"), ("dgmtest-z", "ok")]
    assert result["warnings"] == []


def test_programmatic_register_honours_disable(fake_site):
    result = fake_site.run(
        """
        import types
        from dgmcore import plugins
        status = plugins.register(types.ModuleType("blocked_mod"), name="blocked")
        emit([status.status, status.reason])
        """,
        DGMCORE_DISABLE_PLUGINS="blocked",
    )
    assert result == ["disabled", "disabled by DGMCORE_DISABLE_PLUGINS"]


def test_programmatic_name_taken_before_discovery(fake_site):
    fake_site.plain("dgmtest-a", "ModelA")
    result = fake_site.run(
        """
        import types
        from dgmcore import plugins
        plugins.register(types.ModuleType("mine"), name="dgmtest-a")  # before discovery
        emit({s.name: [s.source, s.status, s.reason] for s in plugins.statuses()})
        """
    )
    assert result == {
        "dgmtest-a": ["programmatic", "ok", None],
        "dgmtest-a (entry point)": ["entry point", "disabled",
                                    "the programmatic plugin 'dgmtest-a' has its name"],
    }


def test_a_first_party_name_whose_plugin_is_neither_checked_out_nor_installed_is_planned(monkeypatch):
    """No advice to pip install a package that exists neither in plugins/ nor in the environment."""
    from dgmcore import plugins
    from dgmcore.plugins import _index as index

    monkeypatch.setitem(index.HINTS, "Hologram", ("dgmcore-holograms", "distributions"))
    with plugins.isolated():
        message = index.unknown_message("distributions", "Hologram")
    assert message.endswith(
        "Hologram is planned for the first-party plugin dgmcore-holograms, which is not released yet"
    )
    assert "pip" not in message
    # every first-party package the hints name is in this checkout's plugins/ folder
    for package in {p for p, _ in index.HINTS.values()} - {"dgmcore-holograms"}:
        assert "is provided by the first-party plugin" in index.first_party_hint(package), package
