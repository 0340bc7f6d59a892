"""Fixtures for the core tests.

The test families live in :mod:`tests.core.families` (families are plugins, so
the core tests define their own by subclassing ``ParametricDistribution``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # --import-mode=importlib does not add the rootdir
    sys.path.insert(0, str(ROOT))

from dgmcore import memo, plugins  # noqa: E402
from dgmcore.distributions import sample_dims  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_and_clean_memo():
    """Every test starts seeded and with no memo scope open, and must leave none open.

    The core is tested without plugins: an installed plugin (dgmcore-families
    registers entropies and KL pairs, say) must not change what these tests see.
    """
    torch.manual_seed(0)
    with plugins.isolated():
        yield
    assert not memo.is_open() and not memo.is_active() and sample_dims() == 0
