"""The GAN benchmark (benchmarks/gan.py) times what it says: both columns take the same steps."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_the_gan_benchmark_columns_take_identical_steps():
    if not (ROOT / "benchmarks" / "gan.py").exists():
        pytest.skip("benchmarks/ is not part of this checkout")
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.gan import GANConfig, check
    finally:
        sys.path.remove(str(ROOT))
    ok, line = check(GANConfig(x_dim=20, z_dim=4, hidden=16, batch=32))
    assert ok, line
