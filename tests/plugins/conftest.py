"""Fixtures for the plugin-system tests.

``fake_site`` builds a folder that importlib-metadata sees as installed wheels
(``<dist>.dist-info`` with ``METADATA`` and ``entry_points.txt``, next to the
plugin modules) and runs scenarios in fresh interpreters with that folder on
``sys.path``. Only the fake distributions' entry points are loaded there
(``DGMCORE_ONLY_ENTRY_POINTS``), so plugins installed in the environment never
leak into a scenario. ``registry`` gives in-process tests an isolated registry.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import dgmcore
from dgmcore import plugins

REPO = Path(dgmcore.__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any DGMCORE_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGMCORE_")}
    env.update(extra)
    return env


#: A plugin providing one plain class as a model (no torch needed).
PLAIN = """
import dgmcore

class {cls}:
    pass

@dgmcore.hookimpl
def register_models():
    return [{cls}]
"""


class FakeSite:
    """A folder of fake installed distributions, and a runner for scenarios in it."""

    PLAIN = PLAIN

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.dists: list[str] = []

    def module(self, relpath: str, source: str) -> None:
        """Write a module (e.g. ``"pkg/plugin.py"``) into the site."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")

    def dist(
        self,
        name: str,
        entry_points: dict[str, str],
        modules: dict[str, str] | None = None,
        version: str = "1.0",
    ) -> None:
        """A fake wheel: ``<name>-<version>.dist-info`` declaring ``dgmcore.plugins`` entry points."""
        info = self.root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
        )
        lines = ["[dgmcore.plugins]"] + [f"{k} = {v}" for k, v in entry_points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        for relpath, source in (modules or {}).items():
            self.module(relpath, source)
        self.dists.append(name)

    def plain(self, name: str, cls: str, module: str | None = None, extra: str = "") -> None:
        """A fake wheel whose plugin provides one plain class ``cls`` as a model (:data:`PLAIN`)."""
        module = module or name.replace("-", "_")
        self.dist(name, {"main": module}, {f"{module}.py": PLAIN.format(cls=cls) + extra})

    def env(self, **extra: str) -> dict[str, str]:
        env = clean_env(PYTHONPATH=os.pathsep.join([str(self.root), str(REPO)]))
        if self.dists:
            env["DGMCORE_ONLY_ENTRY_POINTS"] = ",".join(self.dists)
        else:
            env["DGMCORE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        env.update(extra)
        return env

    def run(self, code: str, **env: str) -> Any:
        """Run ``code`` in a fresh interpreter; it must ``emit(value)``, returned here.

        The scenario's warnings are recorded (``warned()`` lists their messages).
        """
        prelude = textwrap.dedent(
            """
            import json, sys, warnings
            warnings.simplefilter("always")
            _caught = warnings.catch_warnings(record=True)
            _records = _caught.__enter__()
            def warned(category=None):
                import dgmcore.errors as e
                category = category or e.PluginWarning
                return [str(w.message) for w in _records if issubclass(w.category, category)]
            def emit(value):
                print("RESULT:" + json.dumps(value))
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code)],
            capture_output=True, text=True, env=self.env(**env), cwd=self.root, timeout=120,
        )
        results = [line[7:] for line in proc.stdout.splitlines() if line.startswith("RESULT:")]
        if proc.returncode != 0 or not results:
            raise AssertionError(f"scenario failed (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return json.loads(results[-1])


@pytest.fixture
def fake_site(tmp_path: Path) -> FakeSite:
    return FakeSite(tmp_path / "site")


@pytest.fixture
def registry():
    """An empty plugin registry (no installed plugin), restored afterwards."""
    with plugins.isolated() as pm:
        yield pm
