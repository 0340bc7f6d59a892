"""Import and plugin-discovery time, each measured in fresh interpreters.

The budget (issue: plugin system): ``import dgmcore`` adds at most 50 ms over
``import torch``, and discovering the five first-party plugins at most 50 ms
more. Every number is the median over ``--runs`` fresh interpreters (default 9);
each interpreter times its own imports with ``time.perf_counter``, so process
start-up is not counted, except in the ``dgm`` rows, which are wall-clock times
of the whole command. Bytecode caches are enabled and warmed first, as for an
installed package.

Rows:

* ``import torch`` — the reference;
* ``import dgmcore`` after torch — the core package (loads no plugin);
* ``import dgmcore.{distributions,losses,models,flows}`` after torch — the four
  namespaces, i.e. the whole core;
* discovery of the installed plugins (``dgmcore.plugins.manager()``) after the
  namespaces — entry points read, plugin modules imported, hooks called;
* discovery of the first-party plugins in ``plugins/*/``, made visible as
  installed wheels (a ``*.dist-info`` per ``pyproject.toml``) whether or not
  they are pip-installed — the budgeted row;
* discovery of five synthetic plugins (fake wheels, each registering one
  ``ParametricDistribution`` family and a KL pair) — the machinery's own cost,
  independent of what happens to be installed;
* ``dgm --version`` and ``python -c pass``, wall clock.

Run: ``python benchmarks/import_time.py [--runs N]``; prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import dgmcore
t2 = time.perf_counter()
import dgmcore.distributions, dgmcore.losses, dgmcore.models, dgmcore.flows
t3 = time.perf_counter()
from dgmcore import plugins
plugins.manager()
t4 = time.perf_counter()
ok = sum(s.status == "ok" for s in plugins.statuses())
print(json.dumps({"torch": t1 - t0, "dgmcore": t2 - t1, "namespaces": t3 - t1,
                  "discovery": t4 - t3, "plugins": len(plugins.statuses()), "ok": ok}))
"""

FAKE_PLUGIN = """
import torch

import dgmcore
from dgmcore.distributions import ParametricDistribution


class Family{i}(ParametricDistribution):
    family = torch.distributions.Normal
    params = ("loc", "scale")


def _kl(p, q):
    return torch.distributions.kl_divergence(p, q)


@dgmcore.hookimpl
def register_distributions():
    return [Family{i}]


@dgmcore.hookimpl
def register_kl():
    return [(Family{i}, Family{i}, _kl)]
"""


def _env(**extra: str) -> dict[str, str]:
    # Bytecode caches on, as in an installed package (a development shell may
    # set PYTHONDONTWRITEBYTECODE, and compiling every module would be timed).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DGMCORE_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(
        [*extra.pop("PREPEND", "").split(os.pathsep), str(REPO), env.get("PYTHONPATH", "")]
    ).strip(os.pathsep)
    env.update(extra)
    return env


def _fake_site(root: Path, n: int = 5) -> list[str]:
    names = []
    for i in range(n):
        name = f"dgmbench-plugin{i}"
        info = root / f"dgmbench_plugin{i}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[dgmcore.plugins]\np{i} = dgmbench_plugin{i}\n")
        (root / f"dgmbench_plugin{i}.py").write_text(FAKE_PLUGIN.format(i=i))
        names.append(name)
    return names


def _first_party_site(root: Path) -> tuple[list[str], list[str]]:
    """Fake wheels for ``plugins/*/pyproject.toml``; returns (names, source folders)."""
    import tomllib

    names, sources = [], []
    for pyproject in sorted((REPO / "plugins").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        eps = project.get("entry-points", {}).get("dgmcore.plugins", {})
        if not eps:
            continue
        name, version = project["name"], project["version"]
        info = root / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = ["[dgmcore.plugins]"] + [f"{k} = {v}" for k, v in eps.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        names.append(name)
        sources.append(str(pyproject.parent))
    return names, sources


def _child(runs: int, env: dict[str, str]) -> dict[str, float]:
    samples: dict[str, list[float]] = {}
    subprocess.run([sys.executable, "-c", CHILD], capture_output=True, env=env, check=True)  # warm-up
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                             env=env, check=True).stdout
        for key, value in json.loads(out.strip().splitlines()[-1]).items():
            samples.setdefault(key, []).append(value)
    return {k: statistics.median(v) for k, v in samples.items()}


def _wall(runs: int, argv: list[str], env: dict[str, str]) -> float:
    times = []
    subprocess.run(argv, capture_output=True, env=env, check=True)  # warm-up
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per row (>= 7)")
    runs = max(7, parser.parse_args(argv).runs)

    installed = _child(runs, _env())
    with tempfile.TemporaryDirectory() as tmp:
        names = _fake_site(Path(tmp))
        synthetic = _child(runs, _env(PREPEND=tmp, DGMCORE_ONLY_ENTRY_POINTS=",".join(names)))
    with tempfile.TemporaryDirectory() as tmp:
        names, sources = _first_party_site(Path(tmp))
        first_party = _child(runs, _env(PREPEND=os.pathsep.join([tmp, *sources]),
                                        DGMCORE_ONLY_ENTRY_POINTS=",".join(names) or "none"))
    python = _wall(runs, [sys.executable, "-c", "pass"], _env())
    version = _wall(runs, [sys.executable, "-m", "dgmcore.cli", "--version"], _env())

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f}"

    print(f"median of {runs} fresh interpreters, Python {sys.version.split()[0]}\n")
    print("| what | ms | budget |")
    print("|---|---:|---|")
    print(f"| import torch | {ms(installed['torch'])} | (reference) |")
    print(f"| import dgmcore, after torch | {ms(installed['dgmcore'])} | ≤ 50 |")
    print(f"| import the four namespaces (whole core), after torch | {ms(installed['namespaces'])} | |")
    print(f"| discover the installed plugins ({installed['ok']:.0f} ok of "
          f"{installed['plugins']:.0f}) | {ms(installed['discovery'])} | |")
    print(f"| discover the first-party plugins in plugins/ ({first_party['ok']:.0f} ok of "
          f"{first_party['plugins']:.0f}) | {ms(first_party['discovery'])} | ≤ 50 |")
    print(f"| discover 5 synthetic plugins ({synthetic['ok']:.0f} ok) | {ms(synthetic['discovery'])} | |")
    print(f"| `python -c pass`, wall | {ms(python)} | |")
    print(f"| `dgm --version`, wall | {ms(version)} | |")


if __name__ == "__main__":
    main()
