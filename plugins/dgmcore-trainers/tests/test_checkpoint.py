"""Checkpoints: exact resumption, atomic writes under kill -9, and refusals that change nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from dgmcore_trainers import VAE, CheckpointError, fit
from dgmcore_trainers.demos.digits import make_decoder, make_encoder, make_prior
from torch.utils.data import DataLoader

from dgmcore.losses import KullbackLeibler


class Stop(Exception):
    pass


class Record:
    def __init__(self, stop_at=None):
        self.losses, self.stop_at = [], stop_at

    def on_train_batch_end(self, run, loss):
        self.losses.append(loss.item())
        if run.global_step == self.stop_at:
            raise Stop


def _setup(digits, seed, z=3, loader_generator=False):
    torch.manual_seed(seed)
    q, p, prior = make_encoder(z, 16), make_decoder(z, 16), make_prior(z)
    model = VAE(q, p, regularizer=KullbackLeibler(q, prior), optimizer_params={"lr": 1e-2})
    g = torch.Generator().manual_seed(seed) if loader_generator else None
    return model, DataLoader(digits[0][:150], batch_size=32, shuffle=True, generator=g)


def _params(model):
    return {k: v.clone() for k, v in model.distributions.state_dict().items()}


@pytest.mark.parametrize("stop_at", [3, 6, 8], ids=["mid-epoch-1", "epoch-boundary", "mid-epoch-2"])
@pytest.mark.parametrize("loader_generator", [False, True], ids=["global-rng", "loader-generator"])
def test_resuming_gives_bitwise_the_same_losses_and_parameters(digits, tmp_path, stop_at, loader_generator):
    model, loader = _setup(digits, 0, loader_generator=loader_generator)
    full = Record()
    fit(model, loader, 3, callbacks=[full], progress=False)
    expected = _params(model)

    model, loader = _setup(digits, 0, loader_generator=loader_generator)
    with pytest.raises(Stop):  # the step-`stop_at` checkpoint is not written: the last is step stop_at-1
        fit(model, loader, 3, out=tmp_path, checkpoint_every=1, callbacks=[Record(stop_at)], progress=False)

    model, loader = _setup(digits, 123, loader_generator=loader_generator)  # other weights, other RNG
    resumed = Record()
    run = fit(model, loader, 3, out=tmp_path, resume=True, callbacks=[resumed], progress=False)
    assert resumed.losses == full.losses[stop_at - 1:]
    for k, v in _params(model).items():
        assert torch.equal(v, expected[k]), k
    assert [r["epoch"] for r in run.history] == [1, 2, 3]


_WRITER = """
import sys, torch
from dgmcore_trainers import atomic_save
path, n = sys.argv[1], 4_000_000
atomic_save({"generation": 0, "values": torch.zeros(n)}, path)
print("ready", flush=True)
i = 1
while True:
    atomic_save({"generation": i, "values": torch.full((n,), float(i))}, path)
    i += 1
"""


def test_kill_9_in_the_middle_of_a_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        tmp = tmp_path / f".checkpoint.pt.tmp-{child.pid}"
        deadline = time.monotonic() + 30
        while not (tmp.exists() and tmp.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert tmp.exists()  # killed while a new checkpoint was being written...
    state = torch.load(path, weights_only=True)  # ...and the last complete one is intact
    assert state["values"].shape == (4_000_000,)
    assert torch.all(state["values"] == float(state["generation"]))


def _checkpoint(digits, tmp_path, z=3):
    model, loader = _setup(digits, 0, z=z)
    fit(model, loader, 1, out=tmp_path, progress=False)
    return tmp_path / "checkpoint.pt"


def _refused(digits, path, match, z=3):
    model, loader = _setup(digits, 5, z=z)
    before = _params(model)
    opt_before = model.optimizer.state_dict()
    with pytest.raises(CheckpointError, match=match):
        fit(model, loader, 2, resume=path, progress=False)
    for k, v in _params(model).items():
        assert torch.equal(v, before[k]), k
    assert model.optimizer.state_dict() == opt_before


def test_a_checkpoint_of_another_shape_is_refused_and_changes_nothing(digits, tmp_path):
    path = _checkpoint(digits, tmp_path, z=3)
    _refused(digits, path, r"has shape \(.*\) in the checkpoint and .* in the model; nothing was loaded", z=4)


def test_a_truncated_checkpoint_is_refused(digits, tmp_path):
    path = _checkpoint(digits, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(digits, path, "not a readable checkpoint")


def test_a_newer_format_is_refused(digits, tmp_path):
    path = _checkpoint(digits, tmp_path)
    state = torch.load(path, weights_only=True)
    state["version"] = 99
    torch.save(state, path)
    _refused(digits, path, "format version 99, newer")


class Payload:
    pass


def test_a_file_with_pickled_code_is_refused_by_weights_only(digits, tmp_path):
    path = _checkpoint(digits, tmp_path)
    state = torch.load(path, weights_only=True)
    state["history"] = Payload()
    torch.save(state, path)
    _refused(digits, path, "not a readable checkpoint")


def test_a_run_that_stopped_early_stays_stopped_when_resumed(digits, tmp_path):
    model, loader = _setup(digits, 0)
    for group in model.optimizer.param_groups:
        group["lr"] = 0.0  # nothing improves after the first epoch
    run = fit(model, loader, 10, out=tmp_path, early_stopping=1, progress=False)
    assert run.stopped_early and len(run.history) == 2
    steps = Record()
    run = fit(model, loader, 10, out=tmp_path, resume=True, early_stopping=1, callbacks=[steps],
              progress=False)
    assert run.stopped_early and len(run.history) == 2 and steps.losses == []


@pytest.mark.cuda
def test_float16_with_a_grad_scaler_on_cuda_resumes_exactly(digits, tmp_path):
    """GPU only: the scaler's state is in the checkpoint, and the loss stays float32."""
    model, loader = _setup(digits, 0)
    full = Record()
    run = fit(model, loader, 2, accelerator="cuda", precision="mixed", callbacks=[full], progress=False)
    assert run.fabric.strategy.precision.precision == "16-mixed"
    model, loader = _setup(digits, 0)
    with pytest.raises(Stop):
        fit(model, loader, 2, accelerator="cuda", precision="mixed", out=tmp_path, checkpoint_every=1,
            callbacks=[Record(7)], progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["precision"]["scale"] > 0
    model, loader = _setup(digits, 0)
    resumed = Record()
    fit(model, loader, 2, accelerator="cuda", precision="mixed", out=tmp_path, resume=True,
        callbacks=[resumed], progress=False)
    assert resumed.losses == full.losses[6:]


def _fp16_scaled_fabric():
    """Fabric on the CPU with float16 autocast and a gradient scaler: the CUDA "16-mixed" code path.

    Fabric turns ``precision="16-mixed"`` into bfloat16 on a CPU, so the plugin is given whole;
    torch's CPU autocast and ``GradScaler("cpu")`` run the same scaler logic as on a GPU.
    """
    from lightning_fabric import Fabric
    from lightning_fabric.plugins import MixedPrecision

    plugin = MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu", init_scale=2.0**10))
    fabric = Fabric(accelerator="cpu", devices=1, plugins=[plugin])
    fabric.launch()
    return fabric


def test_float16_with_a_grad_scaler_resumes_exactly_on_the_cpu(digits, tmp_path):
    """The fp16 + grad-scaler path without a GPU: losses stay float32 and finite, the scaler's
    state is checkpointed, and resuming from step 7 gives the uninterrupted run's losses."""
    model, loader = _setup(digits, 0)
    dtypes = set()
    linear = next(m for m in model.distributions.modules() if isinstance(m, torch.nn.Linear))
    linear.register_forward_hook(lambda m, a, out: dtypes.add(out.dtype))
    full = Record()
    run = fit(model, loader, 2, fabric=_fp16_scaled_fabric(), callbacks=[full], progress=False,
              clip_grad_norm=10.0)
    assert dtypes == {torch.float16}  # the networks ran in float16
    scaler = run.fabric.strategy.precision.scaler
    assert scaler is not None and scaler.get_scale() > 0
    assert all(torch.isfinite(torch.tensor(full.losses)))
    assert run.history[-1]["train_loss"] < run.history[0]["train_loss"]
    model, loader = _setup(digits, 0)
    with pytest.raises(Stop):
        fit(model, loader, 2, fabric=_fp16_scaled_fabric(), out=tmp_path, checkpoint_every=1,
            callbacks=[Record(7)], progress=False, clip_grad_norm=10.0)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["precision"]
    assert saved["scale"] > 0 and "_growth_tracker" in saved
    model, loader = _setup(digits, 0)
    resumed = Record()
    fit(model, loader, 2, fabric=_fp16_scaled_fabric(), out=tmp_path, resume=True, callbacks=[resumed],
        progress=False, clip_grad_norm=10.0)
    assert resumed.losses == full.losses[6:]


def test_the_optimizer_state_is_restored_onto_its_parameters_after_setup(digits, tmp_path):
    """Resuming loads the optimizer's state after Fabric has moved (or cast) the networks.

    On a GPU, ``fabric.setup`` moves the networks to the device; state loaded before that
    stays on the CPU and Adam's next step fails. Fabric's ``64-true`` precision casts the
    networks in ``setup`` the same way, so the order shows on the CPU: every state tensor
    must have its parameter's dtype and device.
    """
    from lightning_fabric import Fabric

    def fabric():
        f = Fabric(accelerator="cpu", devices=1, precision="64-true")
        f.launch()
        return f

    model, loader = _setup(digits, 0)
    with pytest.raises(Stop):
        fit(model, loader, 2, fabric=fabric(), out=tmp_path, checkpoint_every=1, callbacks=[Record(3)],
            progress=False)
    model, loader = _setup(digits, 0)
    run = fit(model, loader, 2, fabric=fabric(), out=tmp_path, resume=True, progress=False)
    optimizer = run.phases[0].optimizer
    pairs = [(p, s) for group in optimizer.param_groups for p in group["params"]
             for s in optimizer.state[p].values() if torch.is_tensor(s) and s.dim() > 0]
    assert pairs and all(s.dtype == p.dtype == torch.float64 and s.device == p.device for p, s in pairs)
    assert run.global_step > 3
