"""Fixtures for the dgmcore-families tests.

The plugin is tested without relying on its installation: each test module
runs in an isolated plugin registry (no installed plugin leaks in) where
``dgmcore_families.plugin`` is registered in-process, exactly as the entry point
would register it, and unregistered afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
# the package importable without `pip install -e`, and this folder's case tables by name
for path in (PLUGIN_ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dgmcore import plugins  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def families_plugin():
    """The families plugin, registered in an isolated registry for the module."""
    import dgmcore_families.plugin

    with plugins.isolated():
        status = plugins.register(dgmcore_families.plugin, name="dgmcore-families")
        assert status.status == "ok", status.reason
        yield status


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
