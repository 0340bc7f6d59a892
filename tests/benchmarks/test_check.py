"""The benchmark columns compute the hand-written objective (the check mode, small sizes).

No timing here: this keeps every column honest in CI, so that a benchmark
never compares models that differ. The test set-up installs Pixyz and Pyro (the
``test`` extra), so their columns, behind the published comparisons, are
required here: a missing peer library fails this module instead of leaving its
columns out. ``loss.compile()`` is left out for speed (the benchmark run checks
it before timing it).
"""

from __future__ import annotations

import importlib

import pytest
import torch

from benchmarks import dmm, vae
from benchmarks.check import check_columns
from benchmarks.harness import Column
from benchmarks.suites import REFERENCES, SUITES

#: The peer libraries whose columns must be present, in both groups (analytic and Monte-Carlo).
PEERS = ("Pixyz", "Pyro")


def test_the_peer_libraries_are_installed() -> None:
    """Fails (not skips) where the test set-up did not install them."""
    for module in ("pixyz", "pyro"):
        importlib.import_module(module)


SMALL = {
    "vae": vae.VAEConfig(hidden=32, z_dim=4, x_dim=20, batch=8),
    "tiny": vae.VAEConfig(hidden=16, z_dim=3, x_dim=12, batch=5),
    "dmm": dmm.DMMConfig(T=5, z_dim=4, x_dim=10, batch=3, rnn_dim=12, transition_dim=8, emission_dim=6),
    "vae probs": vae.VAEConfig(hidden=32, z_dim=4, x_dim=20, batch=8, decoder="probs"),
    "dmm probs": dmm.DMMConfig(
        T=5, z_dim=4, x_dim=10, batch=3, rnn_dim=12, transition_dim=8, emission_dim=6, decoder="probs"
    ),
}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("suite", sorted(SMALL))
def test_every_column_matches_hand_written(suite: str) -> None:
    _, _, build, make_inputs = SUITES[suite.split()[0]]
    cfg = SMALL[suite]
    columns = build(cfg, True, False)
    torch.manual_seed(0)
    results = check_columns(columns, make_inputs(cfg), REFERENCES)
    assert {r.group for r in results} == {"analytic", "mc"}
    assert len(results) >= 6  # two hand-written, four dgmcore
    for peer in PEERS:  # checked, not silently omitted
        groups = {r.group for r in results if r.column.startswith(peer)}
        missing = sorted({"analytic", "mc"} - groups)
        assert not missing, f"{suite}: no {peer} column in the group(s) {missing}"
    bad = [r.line() for r in results if not r.ok]
    assert not bad, "\n".join(bad)


def test_check_catches_a_different_objective() -> None:
    cfg = SMALL["vae"]
    nets = vae.make_networks(cfg)
    hand = vae.hand_columns(cfg, nets)
    enc, dec = hand[0].modules

    def off(x):  # the analytic objective, scaled by 1.01
        return vae.hand_loss(enc, dec, x["x"], analytic=True) * 1.01

    wrong = Column("wrong", "analytic", lambda x: None, off, [enc, dec])
    torch.manual_seed(0)
    results = check_columns([*hand, wrong], vae.make_inputs(cfg), REFERENCES)
    assert [r.ok for r in results] == [True, True, False]
