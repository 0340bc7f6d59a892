"""Two CPU processes (gloo, launched by torchrun).

They train like one process, only rank 0 writes, and a failure on one rank ends both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from dgmcore_trainers import fit, read_metrics
from torch.utils.data import DataLoader
from trainers_ddp_worker import data, model

WORKER = Path(__file__).with_name("trainers_ddp_worker.py")


def _launch(mode, folder, timeout=90):
    env = {**os.environ, "DGMCORE_ONLY_ENTRY_POINTS": "dgmcore-families,dgmcore-trainers",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parent)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "--monitor-interval", "0.5", str(WORKER), mode, str(folder)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    return folder, _launch("fail", folder)


def test_two_processes_train_like_one_on_the_concatenated_batches(launched):
    tmp_path, result = launched
    assert (tmp_path / "params.pt").exists(), result.stderr[-3000:]
    # one process, batches of 16 = the two ranks' batches of 8 (DistributedSampler: rank r reads r, r+2, ...)
    single = model()
    fit(single, DataLoader(data(), batch_size=16), 2, variables=["x", "y"], progress=False)
    two = torch.load(tmp_path / "params.pt", weights_only=True)
    for key, value in single.distributions.state_dict().items():
        torch.testing.assert_close(two[key], value, rtol=1e-5, atol=1e-6)
    assert not any(single.distributions.state_dict()[k].equal(model().distributions.state_dict()[k])
                   for k in two if "net" in k)  # training moved every weight
    assert sorted(p.name for p in (tmp_path / "rank0").iterdir()) == ["checkpoint.pt", "metrics.csv"]
    assert not (tmp_path / "rank1").exists()  # only rank 0 writes
    rows = read_metrics(tmp_path / "rank0" / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and all("valid_loss" in r for r in rows)


def test_an_exception_on_one_rank_ends_both_and_is_shown(launched):
    tmp_path, result = launched  # the launch ended (within _launch's timeout): no hang
    assert result.returncode != 0
    assert "rank 1 fails on purpose at step 2" in result.stdout + result.stderr
    assert not list(tmp_path.glob("finished*"))  # neither rank went on
