"""A failed call of Model leaves the whole model as it was (findings R05, R06, R22, R27, R28, R30).

The whole model: parameters, buffers (batch norm's running statistics, which
the forward updates before the loss is known), optimizer state, and each
module's train/eval mode. Each test compares against copies taken before the
call, exactly (rtol=0, atol=0).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dgmcore.errors import (
    DGMError,
    ForwardError,
    InputTypeError,
    MissingVariableError,
    NonFiniteLossError,
    ParameterError,
    ShapeError,
)
from dgmcore.losses import KullbackLeibler, Parameter
from dgmcore.models import Model
from tests.families import Normal
from tests.losses.conftest import make_vae, seeded_linear


class BatchNormEncoder(Normal):
    """q(z|x) with a batch norm between two layers; records the mode of every call."""

    def __init__(self, raise_on_batch: int | None = None) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.fc1, self.bn, self.fc2 = seeded_linear(6, 8, 1), nn.BatchNorm1d(8), seeded_linear(8, 4, 2)
        self.raise_on_batch = raise_on_batch
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.training)
        h = self.bn(self.fc1(x))  # the running statistics change here, before anything can fail
        if x.shape[0] == self.raise_on_batch:
            raise RuntimeError("a bug after the batch norm")
        h = self.fc2(torch.tanh(h))
        return {"loc": h[..., :2], "scale": F.softplus(h[..., 2:]) + 1e-3}


def _model(**kw):
    v = make_vae()
    q = BatchNormEncoder(kw.pop("raise_on_batch", None))
    w = Parameter("w")
    loss = (w * KullbackLeibler(q, v.prior) - v.p.log_prob().expectation(q)).mean()
    model = Model(loss, [q, v.p], optimizer_params={"lr": 0.05}, **kw)
    for step in range(2):  # Adam has state, the running statistics have moved
        torch.manual_seed(step)
        model.train({"x": v.x, "w": 1.0})
    return v, q, model


def _snapshot(model):
    return copy.deepcopy(model.state_dict()), [m.training for m in model.distributions.modules()]


def _assert_unchanged(model, snap):
    state, modes = snap
    now = model.state_dict()
    assert now["distributions"].keys() == state["distributions"].keys()
    for k, t in state["distributions"].items():
        torch.testing.assert_close(now["distributions"][k], t, rtol=0, atol=0, equal_nan=False, msg=k)
    assert now["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    for i, entry in state["optimizer"]["state"].items():
        for name, t in entry.items():
            torch.testing.assert_close(now["optimizer"]["state"][i][name], t, rtol=0, atol=0)
    assert [m.training for m in model.distributions.modules()] == modes


def _nan_batch(v):
    x = v.x.clone()
    x[0, 0] = float("nan")
    return x


BAD_STEPS = {
    "nan-batch": lambda v: ({"x": _nan_batch(v), "w": 1.0}, NonFiniteLossError),
    "nan-weight": lambda v: ({"x": v.x, "w": float("nan")}, NonFiniteLossError),
    "column-weight": lambda v: ({"x": v.x, "w": torch.ones(5, 1)}, ShapeError),
    "missing-weight": lambda v: ({"x": v.x}, MissingVariableError),
    "float64-batch": lambda v: ({"x": v.x.double(), "w": 1.0}, ForwardError),
    "bug-after-batch-norm": lambda v: ({"x": v.x[:3], "w": 1.0}, ForwardError),
}


@pytest.mark.parametrize("case", sorted(BAD_STEPS))
def test_a_failed_step_leaves_parameters_buffers_and_optimizer_state_as_they_were(case):
    v, q, model = _model(raise_on_batch=3)
    x, error = BAD_STEPS[case](v)
    snap = _snapshot(model)
    with pytest.raises(error):
        model.train(x)
    _assert_unchanged(model, snap)
    q.eval()
    assert torch.isfinite(q.sample_mean({"x": v.x})).all()  # batch norm is not poisoned
    q.train()
    model.train({"x": v.x, "w": 1.0})  # and training goes on


def test_a_skipped_step_leaves_the_buffers_as_they_were():
    v, q, model = _model(on_nonfinite="skip")
    snap = _snapshot(model)
    assert torch.isnan(model.train({"x": _nan_batch(v), "w": 1.0}))
    _assert_unchanged(model, snap)


def test_the_diagnosis_does_not_run_the_forward_again_in_train_mode():
    v, q, model = _model()
    q.modes.clear()
    with pytest.raises(NonFiniteLossError):
        model.train({"x": _nan_batch(v), "w": 1.0})
    assert q.modes.count(True) == 1  # the step's own forward; the diagnosis ran in eval mode
    assert q.training


def test_the_gradient_norm_error_shows_the_norm_not_the_loss():
    class SqrtLoc(Normal):  # a finite loss whose gradient is NaN: sqrt at 0
        def __init__(self):
            super().__init__(var=["x"], scale=1.0, features_shape=[1])
            self.s = nn.Parameter(torch.zeros(1))

        def forward(self):
            return {"loc": self.s.sqrt()}

    d = SqrtLoc()
    x = {"x": torch.zeros(2, 1)}
    loss_value = (-d.log_prob().mean()).eval(x).item()
    for kw in ({"check_grads": True}, {"clip_grad_norm": 1.0}):
        model = Model(-d.log_prob().mean(), d, optimizer=torch.optim.SGD, **kw)
        with pytest.raises(NonFiniteLossError, match=r"gradient norm .* is not finite \(nan\)") as info:
            model.train(x)
        assert f"{loss_value}" not in str(info.value)


def test_a_loss_that_carries_no_gradient_is_named():
    v = make_vae()
    model = Model(KullbackLeibler(v.q, v.prior).mean().detach(), [v.q])
    formula = r"stopgrad\[mean\(KL\[q\(z\|x\)\|\|p_\{prior\}\(z\)\]\)\]"
    with pytest.raises(InputTypeError, match=formula + ".*no gradient"):
        model.train({"x": v.x})


def test_an_unknown_keyword_is_named():
    v = make_vae()
    model = Model(KullbackLeibler(v.q, v.prior).mean(), [v.q])
    with pytest.raises(InputTypeError, match="'foo'"):
        model.train({"x": v.x}, foo=1)
    with pytest.raises(InputTypeError, match="'foo'"):
        model.test({"x": v.x}, foo=1)


@pytest.mark.parametrize("name", ["clip_grad_norm", "clip_grad_value"])
@pytest.mark.parametrize(
    "value, error",
    [
        (-1.0, ParameterError),
        (0.0, ParameterError),
        (float("nan"), ParameterError),
        ("1", InputTypeError),
        (True, InputTypeError),
    ],
    ids=["negative", "zero", "nan", "string", "bool"],
)
def test_a_clip_that_is_not_positive_is_refused(name, value, error):
    v = make_vae()
    with pytest.raises(error, match=name):
        Model(KullbackLeibler(v.q, v.prior).mean(), [v.q], **{name: value})


def test_a_negative_clip_would_have_trained_uphill():
    # why the check: torch multiplies the gradient by a negative factor (what R06 saw)
    v = make_vae()
    kl = KullbackLeibler(v.q, v.prior).mean()
    model = Model(kl, [v.q], clip_grad_norm=1.0, optimizer=torch.optim.SGD, optimizer_params={"lr": 0.05})
    before = kl.eval({"x": v.x}).item()
    for _ in range(5):
        model.train({"x": v.x})
    assert kl.eval({"x": v.x}).item() < before


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"optimizer_params": {"lr": -1}}, ParameterError, "lr"),
        ({"optimizer": "adam"}, InputTypeError, "optimizer"),
        ({"optimizer_params": "lr=0.1"}, InputTypeError, "optimizer_params"),
        ({"optimizer_params": {"lrr": 0.1}}, InputTypeError, "lrr"),
        ({"distributions": None}, InputTypeError, "distributions"),
        ({"distributions": 3}, InputTypeError, "distributions"),
    ],
    ids=["negative-lr", "optimizer-name", "params-string", "unknown-keyword", "none", "number"],
)
def test_bad_model_arguments_are_typed_errors_naming_the_argument(kwargs, error, match):
    v = make_vae()
    args = {"loss": KullbackLeibler(v.q, v.prior).mean(), "distributions": [v.q], **kwargs}
    with pytest.raises(error, match=match):
        Model(**args)


def test_an_optimizer_instance_is_refused_with_the_way_to_pass_it():
    v = make_vae()
    opt = torch.optim.Adam(v.q.parameters())
    with pytest.raises(InputTypeError, match="class.*optimizer_params"):
        Model(KullbackLeibler(v.q, v.prior).mean(), [v.q], optimizer=opt)


def _checkpoint_cases(model):
    good = copy.deepcopy(model.state_dict())
    key = next(k for k in good["distributions"] if k.endswith("fc2.bias"))
    wrong_shape = copy.deepcopy(good)
    wrong_shape["distributions"][key] = torch.zeros(7)
    missing = copy.deepcopy(good)
    del missing["distributions"][key]
    groups = copy.deepcopy(good)
    groups["optimizer"]["param_groups"][0]["params"] = groups["optimizer"]["param_groups"][0]["params"][:-1]
    return {
        "wrong-shape": (wrong_shape, ShapeError, key),
        "missing-key": (missing, InputTypeError, key),
        "optimizer-groups": (groups, InputTypeError, "parameter groups"),
        "not-a-dict": ([], InputTypeError, "dict"),
    }


@pytest.mark.parametrize("case", ["wrong-shape", "missing-key", "optimizer-groups", "not-a-dict"])
def test_a_checkpoint_that_does_not_fit_is_refused_before_anything_is_loaded(case):
    v, q, model = _model()
    other_v, other_q, other = _model()
    with torch.no_grad():
        for p in other.distributions.parameters():
            p.add_(1.0)  # a checkpoint whose every weight differs
    state, error, match = _checkpoint_cases(other)[case]
    snap = _snapshot(model)
    with pytest.raises(error, match=match) as info:
        model.load_state_dict(state)
    assert isinstance(info.value, DGMError)
    _assert_unchanged(model, snap)


def test_test_restores_each_modules_mode_also_when_it_fails():
    v = make_vae()
    model = Model(KullbackLeibler(v.q, v.prior).mean(), [v.q, v.p])
    v.q.eval()
    with pytest.raises(MissingVariableError):
        model.test({})
    assert not v.q.training and v.p.training
    model.test({"x": v.x})
    assert not v.q.training and v.p.training
