"""Fixtures for the dgmcore-adversarial tests.

Each test module runs in an isolated plugin registry where this plugin and the
families plugin (whose ``Normal`` the tests use as a prior) are registered
in-process, exactly as their entry points would register them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
for path in (PLUGIN_ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dgmcore import plugins  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def adversarial_plugin():
    """This plugin and dgmcore-families, registered in an isolated registry for the module."""
    import dgmcore_adversarial.plugin
    import dgmcore_families.plugin

    with plugins.isolated():
        fam = plugins.register(dgmcore_families.plugin, name="dgmcore-families")
        status = plugins.register(dgmcore_adversarial.plugin, name="dgmcore-adversarial")
        assert fam.status == "ok" and status.status == "ok", (fam.reason, status.reason)
        yield status


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
