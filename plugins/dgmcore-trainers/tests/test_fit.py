"""fit: the same steps as a hand-written loop, hooks in order, metrics, stopping, precision."""

from __future__ import annotations

import types

import pytest
import torch
from dgmcore_trainers import ML, VAE, FitConfigError, fit, read_metrics
from dgmcore_trainers.demos.digits import make_decoder, make_encoder, make_prior
from torch.utils.data import DataLoader, TensorDataset

import dgmcore
from dgmcore import plugins
from dgmcore.distributions import Normal
from dgmcore.errors import NonFiniteLossError
from dgmcore.losses import KullbackLeibler


class Regression(Normal):
    """p(y|x) = N(w x + b, 1)."""

    def __init__(self):
        super().__init__(var=["y"], cond_var=["x"], scale=1.0, name="p")
        self.net = torch.nn.Linear(3, 1)

    def forward(self, x):
        return {"loc": self.net(x)}


def _data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(n, 1, generator=g)


@pytest.mark.parametrize("clip", [None, 0.5], ids=["plain", "clip-norm"])
def test_fit_takes_the_steps_of_a_hand_written_loop(clip):
    x, y = _data()
    torch.manual_seed(0)
    p = Regression()
    reference = torch.nn.Linear(3, 1)
    reference.load_state_dict(p.net.state_dict())
    opt = torch.optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(3):
        for i in range(0, 48, 16):
            opt.zero_grad()
            loc = reference(x[i:i + 16])
            loss = -torch.distributions.Normal(loc, 1.0).log_prob(y[i:i + 16]).sum(-1).mean()
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(reference.parameters(), clip)
            opt.step()
    model = ML(p, optimizer=torch.optim.SGD, optimizer_params={"lr": 0.1}, clip_grad_norm=clip)
    fit(model, DataLoader(TensorDataset(x, y), batch_size=16), 3, variables=["x", "y"], progress=False)
    torch.testing.assert_close(p.net.weight, reference.weight)
    torch.testing.assert_close(p.net.bias, reference.bias)


def test_hooks_run_in_the_documented_order(tmp_path):
    events = []
    module = types.ModuleType("order_plugin")

    def record(name, *fields):
        def hook(run, **kwargs):
            events.append((name, *(kwargs[f] for f in fields)))
        hook.__name__ = name
        return hook

    module.on_fit_start = dgmcore.hookimpl(lambda run: events.append(("on_fit_start",)))
    module.on_fit_start.__name__ = "on_fit_start"
    module.on_train_batch_end = dgmcore.hookimpl(
        lambda run, batch_idx: events.append(("on_train_batch_end", run.epoch + 1, batch_idx)))
    module.on_train_batch_end.__name__ = "on_train_batch_end"
    module.on_validation_end = dgmcore.hookimpl(lambda run, metrics: events.append(("on_validation_end",)))
    module.on_validation_end.__name__ = "on_validation_end"
    module.on_epoch_end = dgmcore.hookimpl(lambda epoch: events.append(("on_epoch_end", epoch)))
    module.on_epoch_end.__name__ = "on_epoch_end"
    module.on_fit_end = dgmcore.hookimpl(lambda run: events.append(("on_fit_end", len(run.history))))
    module.on_fit_end.__name__ = "on_fit_end"

    class Callback:
        def on_epoch_end(self, epoch, metrics):
            events.append(("callback.on_epoch_end", epoch))
            metrics["extra"] = 10.0 * epoch  # kept in the history and metrics.csv

    x, y = _data(n=24)
    model = ML(Regression())
    status = plugins.register(module, name="order-plugin")
    assert status.status == "ok", status.reason
    try:
        fit(model, DataLoader(TensorDataset(x, y), batch_size=8), 2,
            DataLoader(TensorDataset(x, y), batch_size=24), variables=["x", "y"], callbacks=[Callback()],
            out=tmp_path, progress=False)
    finally:
        plugins.unregister("order-plugin")
    epoch = [("on_train_batch_end", None, b) for b in range(3)]
    expected = [("on_fit_start",)]
    for e in (1, 2):
        expected += [(n, e, b) for n, _, b in epoch]
        expected += [("on_validation_end",), ("on_epoch_end", e), ("callback.on_epoch_end", e)]
    expected += [("on_fit_end", 2)]
    assert events == expected
    rows = read_metrics(tmp_path / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and [r["extra"] for r in rows] == [10.0, 20.0]
    assert set(rows[0]) >= {"train_loss", "valid_loss", "lr", "seconds"}


def test_history_losses_are_the_batch_weighted_means():
    x, y = _data(n=20)
    model = ML(Regression(), optimizer=torch.optim.SGD, optimizer_params={"lr": 0.0})
    run = fit(model, DataLoader(TensorDataset(x, y), batch_size=8), 1,
              DataLoader(TensorDataset(x, y), batch_size=7), variables=["x", "y"], progress=False)
    full = model.test({"x": x, "y": y}).item()  # lr 0: every batch sees the same parameters
    assert run.history[0]["train_loss"] == pytest.approx(full, rel=1e-5)
    assert run.history[0]["valid_loss"] == pytest.approx(full, rel=1e-5)


def test_early_stopping_and_a_plateau_scheduler():
    x, y = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    model = ML(Regression(), optimizer_params={"lr": 0.0})  # nothing improves after epoch 1
    run = fit(model, loader, 20, early_stopping=3, variables=["x", "y"], progress=False,
              scheduler=lambda opt: torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5))
    assert run.stopped_early and len(run.history) == 4  # the best epoch, then 3 without improvement
    model = ML(Regression(), optimizer_params={"lr": 1.0})
    run = fit(model, loader, 3, variables=["x", "y"], progress=False, scheduler_interval="step",
              scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    assert run.history[-1]["lr"] == pytest.approx(0.5 ** 9)


def test_bf16_autocast_keeps_log_densities_float32(digits):
    seen = {}
    q, p, prior = make_encoder(4, 32), make_decoder(4, 32), make_prior(4)
    p.net[-1].register_forward_hook(lambda m, a, out: None if seen.setdefault("network", out.dtype) else None)

    class Callback:
        def on_fit_start(self):  # after fit's own hooks: sees the parameters the density gets
            self.handle = p.register_forward_hook(
                lambda m, a, out: None if seen.setdefault("parameters", out["logits"].dtype) else None)

        def on_train_batch_end(self, loss):
            seen.setdefault("loss", loss.dtype)

        def on_fit_end(self):
            self.handle.remove()

    model = VAE(q, p, regularizer=KullbackLeibler(q, prior))
    fit(model, DataLoader(digits[0][:64], batch_size=32), 1, precision="mixed", callbacks=[Callback()],
        progress=False)
    assert seen == {"network": torch.bfloat16, "parameters": torch.float32, "loss": torch.float32}
    # the hooks that cast are gone after fit: an eager evaluation sees the network's own dtype
    assert model.test({"x": digits[0][:4]}).dtype == torch.float32


def test_a_nonfinite_loss_is_a_typed_error_naming_the_loss():
    x, y = _data(n=16)
    y[3] = float("nan")
    model = ML(Regression())
    with pytest.raises(NonFiniteLossError, match=r"mean\(-log p\(y\|x\)\) is not finite"):
        fit(model, DataLoader(TensorDataset(x, y), batch_size=8), 1, variables=["x", "y"], progress=False)


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": -1}, "epochs must be"),
    ({"epochs": 1, "scheduler_interval": "batch"}, "scheduler_interval"),
    ({"epochs": 1, "callbacks": [object()]}, "none of the hook methods"),
    ({"epochs": 1, "variables": None}, "pass variables"),
    ({"epochs": 1, "early_stopping": 1, "monitor": "valid_loss"}, "early stopping monitors"),
    ({"epochs": 1, "accelerator": "nonsense"}, r"accelerator='nonsense'.*invalid accelerator"),
    ({"epochs": 1, "precision": "17-odd"}, "Fabric cannot run"),
], ids=["epochs", "interval", "callback", "tuples", "monitor", "accelerator", "precision"])
def test_bad_arguments_are_named(kwargs, match):
    x, y = _data(n=16)
    kwargs = {"variables": ["x", "y"], **kwargs}
    with pytest.raises(FitConfigError, match=match):
        fit(ML(Regression()), DataLoader(TensorDataset(x, y), batch_size=8), progress=False, **kwargs)


def test_an_accelerator_this_machine_lacks_is_a_config_error_naming_it():
    """Without a GPU, accelerator="cuda" says so (Fabric's reason included); with one it trains."""
    x, y = _data(n=16)
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    if torch.cuda.is_available():
        run = fit(ML(Regression()), loader, 1, accelerator="cuda", variables=["x", "y"], progress=False)
        assert len(run.history) == 1
        return
    with pytest.raises(FitConfigError, match=r"accelerator='cuda'.*not available"):
        fit(ML(Regression()), loader, 1, accelerator="cuda", variables=["x", "y"], progress=False)
