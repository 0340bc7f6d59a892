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


def test_the_timed_gan_columns_draw_the_same_noise_and_stay_on_one_trajectory():
    """Each timed column has its own stream, seeded alike: interleaved steps, with other draws
    from the global generator in between, leave the two columns with equal parameters."""
    if not (ROOT / "benchmarks" / "gan.py").exists():
        pytest.skip("benchmarks/ is not part of this checkout")
    import torch

    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.gan import GANConfig, columns, make_inputs
    finally:
        sys.path.remove(str(ROOT))
    cfg = GANConfig(x_dim=20, z_dim=4, hidden=16, batch=32)
    (hand, ours), _ = columns(cfg)
    for _ in range(4):
        x = make_inputs(cfg)
        hand.step(x)
        torch.randn(7)  # another column's draws in between
        ours.step(x)
    for a, b in zip(hand.modules, ours.modules, strict=True):
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)
