"""Fixtures for the dgmcore-flows tests.

The plugin is tested without relying on its installation: each test module
runs in an isolated plugin registry (no installed plugin leaks in) where
``dgmcore_flows.plugin`` (and the families plugin, for the priors) are
registered in-process, exactly as their entry points would register them, and
unregistered afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
FAMILIES_ROOT = PLUGIN_ROOT.parent / "dgmcore-families"
for path in (PLUGIN_ROOT, FAMILIES_ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dgmcore import plugins  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def flows_plugin():
    """The flows plugin (and the families it uses for priors), registered in an isolated registry."""
    import dgmcore_families.plugin
    import dgmcore_flows.plugin

    with plugins.isolated():
        families = plugins.register(dgmcore_families.plugin, name="dgmcore-families")
        status = plugins.register(dgmcore_flows.plugin, name="dgmcore-flows")
        assert families.status == "ok", families.reason
        assert status.status == "ok", status.reason
        yield status


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small tensors: one torch thread is faster, and much faster on a shared, loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
