"""Discovery stays cheap with every first-party plugin installed (the ≤ 50 ms import budget).

Loading a plugin imports its ``plugin`` module and runs its ``register_*``
hooks; none of that may pull in the heavy libraries the plugins use only when
they train (Lightning Fabric, music21, matplotlib, scikit-learn), and the
cyclic garbage collector is paused around it, never left off.
"""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from dgmcore import plugins


@pytest.mark.parametrize("enabled", [True, False])
def test_discovery_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with plugins.isolated():
            plugins.reset(entry_points=("dgmcore-families",), env=False)
            plugins.manager()
            assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_loading_every_plugin_imports_none_of_their_heavy_dependencies() -> None:
    code = (
        "import sys\n"
        "import dgmcore.distributions as d\n"
        "d.Normal\n"
        "from dgmcore import plugins\n"
        "assert all(s.status == 'ok' for s in plugins.statuses()), plugins.statuses()\n"
        "heavy = ['lightning_fabric', 'music21', 'matplotlib', 'sklearn']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
