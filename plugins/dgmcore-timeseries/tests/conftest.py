"""Fixtures for the dgmcore-timeseries tests.

Each test module runs in an isolated plugin registry where the families plugin
(whose Normal and Bernoulli the models use) and ``dgmcore_timeseries.plugin``
are registered in-process, as their entry points would register them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
# the package importable without `pip install -e`, and this folder's case modules by name
for path in (PLUGIN_ROOT, Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dgmcore import plugins  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def timeseries_plugin():
    """The families and time-series plugins, registered in an isolated registry for the module."""
    import dgmcore_families.plugin
    import dgmcore_timeseries.plugin

    with plugins.isolated():
        for module, name in ((dgmcore_families.plugin, "dgmcore-families"),
                             (dgmcore_timeseries.plugin, "dgmcore-timeseries")):
            status = plugins.register(module, name=name)
            assert status.status == "ok", status.reason
        yield


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
