"""The GAN benchmark (benchmarks/gan.py) times what it says: both columns take the same steps."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]


def _gan() -> ModuleType:
    """``benchmarks.gan`` from the repository (the benchmarks are not an installed package)."""
    if not (ROOT / "benchmarks" / "gan.py").exists():
        pytest.skip("benchmarks/ is not part of this checkout")
    sys.path.insert(0, str(ROOT))
    try:
        return importlib.import_module("benchmarks.gan")
    finally:
        sys.path.remove(str(ROOT))


def _assert_same_parameters(hand, ours) -> None:
    for a, b in zip(hand.modules, ours.modules, strict=True):
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


def test_the_gan_benchmark_columns_take_identical_steps():
    gan = _gan()
    ok, line = gan.check(gan.GANConfig(x_dim=20, z_dim=4, hidden=16, batch=32))
    assert ok, line


@pytest.fixture
def timed():
    """The module, a small config and its two timed columns (hand-written, dgmcore)."""
    gan = _gan()
    cfg = gan.GANConfig(x_dim=20, z_dim=4, hidden=16, batch=32)
    (hand, ours), _ = gan.columns(cfg)
    return gan, cfg, hand, ours


def test_the_timed_gan_columns_draw_the_same_noise_and_stay_on_one_trajectory(timed):
    """Each timed column has its own stream, seeded alike: interleaved steps, with other draws
    from the global generator in between, leave the two columns with equal parameters."""
    gan, cfg, hand, ours = timed
    for _ in range(4):
        x = gan.make_inputs(cfg)
        hand.step(x)
        torch.randn(7)  # another column's draws in between
        ours.step(x)
    _assert_same_parameters(hand, ours)


def test_the_timed_gan_columns_train_on_one_sequence_of_batches_whatever_the_timer_hands_them(timed):
    """The timer draws fresh inputs for each column's block; the columns ignore them and cycle
    through one fixed sequence of batches, so they still end with equal parameters."""
    gan, cfg, hand, ours = timed
    for _ in range(3):
        hand.step(gan.make_inputs(cfg))
    for _ in range(3):
        ours.step(gan.make_inputs(cfg))  # other inputs than hand's
    _assert_same_parameters(hand, ours)
