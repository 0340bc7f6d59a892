"""The ``dgm`` command, run as a user runs it: in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dgmcore

REPO = Path(dgmcore.__file__).resolve().parent.parent

COMMANDS = """
import sys

import dgmcore

print("IMPORTED dgmtest_cmd", file=sys.stderr)


def _hello(args):
    print(f"hello {args.who}")
    return 3


@dgmcore.hookimpl
def register_commands(cli):
    parser = cli.add("hello", _hello, help="say hello")
    parser.add_argument("--who", default="world")
"""

OTHER_HELLO = """
import dgmcore


@dgmcore.hookimpl
def register_commands(cli):
    cli.add("hello", lambda args: 0, help="another hello")
"""


def dgm(site, *args, **env):
    return subprocess.run([sys.executable, "-m", "dgmcore.cli", *args], capture_output=True,
                          text=True, env=site.env(**env), cwd=site.root, timeout=120)


def test_plugins_json_and_table(fake_site):
    fake_site.dist("dgmtest-cmd", {"cmd": "dgmtest_cmd"}, {"dgmtest_cmd.py": COMMANDS},
                   version="2.1.0")
    fake_site.dist("dgmtest-broken", {"broken": "dgmtest_broken"},
                   {"dgmtest_broken.py": "raise ImportError('needs libfoo')\n"})
    fake_site.dist("dgmtest-off", {"off": "dgmtest_off"}, {"dgmtest_off.py": ""})
    proc = dgm(fake_site, "plugins", "--json", DGMCORE_DISABLE_PLUGINS="dgmtest-off")
    assert proc.returncode == 0, proc.stderr
    records = {r["name"]: r for r in json.loads(proc.stdout)}
    for record in records.values():
        assert {"name", "version", "source", "status", "reason", "provides"} <= set(record)
    assert records["dgmtest-cmd"] == {
        "name": "dgmtest-cmd", "version": "2.1.0", "source": "entry point", "status": "ok",
        "reason": None, "provides": {"commands": ["hello"]}, "module": "dgmtest_cmd",
        "distribution": "dgmtest-cmd", "hooks": ["register_commands"],
    }
    assert records["dgmtest-broken"]["status"] == "broken"
    assert "ImportError: needs libfoo" in records["dgmtest-broken"]["reason"]
    assert records["dgmtest-off"]["status"] == "disabled"
    assert "PluginWarning" in proc.stderr and "dgmtest-broken" in proc.stderr

    table = dgm(fake_site, "plugins", DGMCORE_DISABLE_PLUGINS="dgmtest-off").stdout
    header, *rows = table.splitlines()
    assert header.split() == ["NAME", "VERSION", "SOURCE", "STATUS", "PROVIDES"]
    assert any(r.split()[:2] == ["dgmtest-cmd", "2.1.0"] and "commands: hello" in r for r in rows)
    assert "dgmtest-broken is broken: import of dgmtest_broken failed" in table


def test_plugin_commands(fake_site):
    fake_site.dist("dgmtest-cmd", {"cmd": "dgmtest_cmd"}, {"dgmtest_cmd.py": COMMANDS})
    proc = dgm(fake_site, "hello", "--who", "dgm")
    assert (proc.returncode, proc.stdout) == (3, "hello dgm\n")
    assert "hello" in dgm(fake_site, "--help").stdout
    fake_site.dist("dgmtest-other", {"other": "dgmtest_other"}, {"dgmtest_other.py": OTHER_HELLO})
    proc = dgm(fake_site, "hello")
    assert proc.returncode == 1
    assert "'dgmtest-cmd' and 'dgmtest-other'" in proc.stderr and "PluginWarning" in proc.stderr


def test_version_and_new_plugin_load_no_plugin(fake_site, tmp_path):
    fake_site.dist("dgmtest-cmd", {"cmd": "dgmtest_cmd"}, {"dgmtest_cmd.py": COMMANDS})
    proc = dgm(fake_site, "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("dgm (dgmcore ")
    assert "IMPORTED" not in proc.stderr
    proc = dgm(fake_site, "new-plugin", "demo", "--dir", str(tmp_path))
    assert proc.returncode == 0 and "IMPORTED" not in proc.stderr
    proc = dgm(fake_site, "new-plugin", "demo", "--dir", str(tmp_path))
    assert proc.returncode == 1 and "already exists" in proc.stderr
    proc = dgm(fake_site, "new-plugin", "9 lives", "--dir", str(tmp_path))
    assert proc.returncode == 2 and "not a valid plugin name" in proc.stderr


def test_new_plugin_scaffold_installs_and_its_test_passes(fake_site, tmp_path):
    proc = dgm(fake_site, "new-plugin", "vonmises", "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    root = tmp_path / "dgmcore-vonmises"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "dgmcore_vonmises/__init__.py",
                     "dgmcore_vonmises/distributions.py", "dgmcore_vonmises/plugin.py",
                     "pyproject.toml", "tests/test_plugin.py"]
    assert '[project.entry-points."dgmcore.plugins"]' in (root / "pyproject.toml").read_text()
    assert "@dgmcore.hookimpl" in (root / "dgmcore_vonmises" / "plugin.py").read_text()

    target = tmp_path / "installed"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(root)],
        capture_output=True, text=True, env=fake_site.env(), timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {"PYTHONPATH": os.pathsep.join([str(target), str(REPO)]),
           "DGMCORE_ONLY_ENTRY_POINTS": "dgmcore-vonmises", "DGMCORE_DISABLE_PLUGIN_AUTOLOAD": "0"}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True, text=True, env=fake_site.env(**env), cwd=root, timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
