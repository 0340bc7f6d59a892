"""Shared pieces of the dgmcore-trainers tests: the digits, small networks, one thread."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the stand-in adversarial loss, by name
    sys.path.insert(0, str(HERE))

from dgmcore_trainers.demos.digits import load_digits_split  # noqa: E402

from dgmcore import plugins  # noqa: E402

#: What the tests load: this plugin (through its entry point) and the families it trains.
ENTRY_POINTS = ("dgmcore-families", "dgmcore-trainers")


@pytest.fixture(autouse=True, scope="module")
def _registry():
    """Only the families and this plugin, so another plugin's state never reaches these tests."""
    with plugins.isolated(entry_points=ENTRY_POINTS):
        yield


@pytest.fixture(autouse=True)
def _one_thread():
    """The machine is shared: small networks run fastest on one thread anyway."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def digits():
    """``(train_x, train_y, test_x, test_y)`` of the scikit-learn digits."""
    return load_digits_split(0)
