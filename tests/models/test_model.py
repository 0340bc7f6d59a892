"""Model: a training step against a hand-written one, test mode, checkpoints, non-finite losses, clipping."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import dgmcore
from dgmcore.errors import DGMError, ForwardError, InputTypeError, NonFiniteLossError, ShapeError
from dgmcore.losses import KullbackLeibler, Parameter
from dgmcore.models import Model
from tests.families import Normal
from tests.losses.conftest import Decoder, Encoder, make_vae, plain_vae


def vae_loss(v):
    return (KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q)).mean()


def params_of(*modules):
    return [p.detach().clone() for m in modules for p in m.parameters()]


def assert_all_close(a, b, **kw):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, **kw)


def test_train_is_one_optimizer_step_as_written_by_hand():
    v, ref = make_vae(), make_vae()  # identical weights
    model = Model(vae_loss(v), [v.q, v.p], optimizer=torch.optim.Adam, optimizer_params={"lr": 0.01})
    opt = torch.optim.Adam([*ref.q.parameters(), *ref.p.parameters()], lr=0.01)
    loss_ref = vae_loss(ref)
    for step in range(3):
        torch.manual_seed(step)
        got = model.train({"x": v.x})
        torch.manual_seed(step)
        opt.zero_grad()
        want = loss_ref.eval({"x": ref.x})
        want.backward()
        opt.step()
        assert not got.requires_grad
        torch.testing.assert_close(got, want.detach())
        assert_all_close(params_of(v.q, v.p), params_of(ref.q, ref.p))


def test_a_compiled_loss_trains_exactly_as_the_eager_one():
    runs = []
    for compiled in (False, True):
        v = plain_vae()
        loss = vae_loss(v)
        model = Model(loss.compile(backend="aot_eager") if compiled else loss, [v.q, v.p])
        losses = []
        for step in range(3):
            torch.manual_seed(step)
            losses.append(model.train({"x": v.x}))
        losses.append(model.test({"x": v.x}))
        runs.append((losses, params_of(v.q, v.p)))
    assert_all_close(runs[0][0], runs[1][0])
    assert_all_close(runs[0][1], runs[1][1])


def test_test_runs_without_gradient_in_eval_mode_and_restores_train_mode():
    class Dropout(Encoder):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)
            self.modes = []

        def forward(self, x):
            self.modes.append(self.training)
            return super().forward(self.drop(x))

    v = make_vae()
    v.q = Dropout()
    model = Model(vae_loss(v), [v.q, v.p])
    before = params_of(v.q, v.p)
    torch.manual_seed(0)
    value = model.test({"x": v.x})
    assert not value.requires_grad and value.shape == ()
    assert v.q.modes == [False]
    assert v.q.training  # back in train mode
    assert_all_close(before, params_of(v.q, v.p))
    torch.manual_seed(0)
    assert model.test({"x": v.x}).item() == value.item()  # no dropout: deterministic given the seed
    model.train({"x": v.x})
    assert v.q.modes[-1] is True


def test_test_loss_is_used_by_test():
    v = make_vae()
    kl = KullbackLeibler(v.q, v.prior).mean()
    model = Model(vae_loss(v), [v.q, v.p], test_loss=kl)
    torch.testing.assert_close(model.test({"x": v.x}), kl.eval({"x": v.x}).detach())


def test_keyword_arguments_and_parameters_reach_the_loss():
    v = make_vae()
    loss = (Parameter("beta") * KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q)).mean()
    model = Model(loss, [v.q, v.p])
    torch.manual_seed(0)
    value, out = model.test({"x": v.x, "beta": 0.0}, return_dict=True)
    assert "z" in out
    torch.manual_seed(0)
    torch.testing.assert_close(value, (-v.p.log_prob().expectation(v.q)).mean().eval({"x": v.x}).detach())


def _trained(seed_steps=3):
    v = make_vae()
    model = Model(vae_loss(v), [v.q, v.p], optimizer_params={"lr": 0.05})
    for step in range(seed_steps):
        torch.manual_seed(step)
        model.train({"x": v.x})
    return v, model


def test_state_dict_round_trip_resumes_with_the_identical_next_loss():
    v, model = _trained()
    state = copy.deepcopy(model.state_dict())  # what torch.save would write
    assert set(state) == {"distributions", "optimizer"}
    assert state["optimizer"]["state"]  # Adam's moments are in it
    torch.manual_seed(100)
    next_loss = model.train({"x": v.x})
    after = params_of(v.q, v.p)

    fresh = make_vae()
    with torch.no_grad():
        for p in [*fresh.q.parameters(), *fresh.p.parameters()]:
            p.add_(1.0)  # different weights before loading
    resumed = Model(vae_loss(fresh), [fresh.q, fresh.p], optimizer_params={"lr": 0.05})
    resumed.load_state_dict(state)
    torch.manual_seed(100)
    torch.testing.assert_close(resumed.train({"x": fresh.x}), next_loss, rtol=0, atol=0)
    assert_all_close(params_of(fresh.q, fresh.p), after, rtol=0, atol=0)


def test_load_state_dict_rejects_a_foreign_dict():
    v, model = _trained(1)
    with pytest.raises(InputTypeError, match="optimizer"):
        model.load_state_dict({"distributions": model.distributions.state_dict()})


def _nonfinite_model(on_nonfinite="raise", **kw):
    v = make_vae()
    loss = (Parameter("w") * KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q)).mean()
    return v, Model(loss, [v.q, v.p], on_nonfinite=on_nonfinite, optimizer_params={"lr": 0.05}, **kw)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nonfinite_loss_raises_and_changes_nothing(bad):
    v, model = _nonfinite_model()
    for _ in range(2):
        model.train({"x": v.x, "w": 1.0})
    params = params_of(v.q, v.p)
    opt_state = copy.deepcopy(model.optimizer.state_dict())
    with pytest.raises(NonFiniteLossError) as info:
        model.train({"x": v.x, "w": bad})
    assert "not finite" in str(info.value) and "on_nonfinite='skip'" in str(info.value)
    assert_all_close(params_of(v.q, v.p), params, rtol=0, atol=0)
    _assert_same_optimizer_state(model.optimizer.state_dict(), opt_state)
    assert all(p.grad is None for p in [*v.q.parameters(), *v.p.parameters()])
    model.train({"x": v.x, "w": 1.0})  # and training goes on


def test_nonfinite_loss_skipped_on_request():
    v, model = _nonfinite_model("skip")
    model.train({"x": v.x, "w": 1.0})
    params = params_of(v.q, v.p)
    opt_state = copy.deepcopy(model.optimizer.state_dict())
    value = model.train({"x": v.x, "w": float("nan")})
    assert torch.isnan(value)
    assert_all_close(params_of(v.q, v.p), params, rtol=0, atol=0)
    _assert_same_optimizer_state(model.optimizer.state_dict(), opt_state)


class SqrtLoc(Normal):
    """N(x | sqrt(s), 1): at s = 0 the loss is finite and its gradient is not (0 * inf)."""

    def __init__(self):
        super().__init__(var=["x"], scale=1.0, features_shape=[1])
        self.s = nn.Parameter(torch.zeros(1))

    def forward(self):
        return {"loc": self.s.sqrt()}


def test_nonfinite_gradient_with_norm_clipping_changes_nothing():
    d = SqrtLoc()
    model = Model(-d.log_prob().mean(), d, clip_grad_norm=1.0, optimizer=torch.optim.SGD)
    x = {"x": torch.zeros(2, 1)}
    assert torch.isfinite(model.test(x))
    with pytest.raises(NonFiniteLossError, match="gradient norm"):
        model.train(x)
    assert d.s.item() == 0.0 and d.s.grad is None
    skip = Model(-d.log_prob().mean(), d, clip_grad_norm=1.0, on_nonfinite="skip", optimizer=torch.optim.SGD)
    assert torch.isfinite(skip.train(x))  # the loss is returned; the step is skipped
    assert d.s.item() == 0.0


@pytest.mark.parametrize("optimizer", [torch.optim.SGD, torch.optim.Adam])
def test_nonfinite_gradient_without_clipping_changes_nothing(optimizer):
    d = SqrtLoc()
    model = Model(-d.log_prob().mean(), d, optimizer=optimizer, check_grads=True)
    x = {"x": torch.zeros(2, 1)}
    with pytest.raises(NonFiniteLossError, match="gradient norm"):
        model.train(x)
    assert d.s.item() == 0.0 and d.s.grad is None and not model.optimizer.state
    unchecked = Model(-d.log_prob().mean(), d, optimizer=optimizer)  # check_grads=False, the default
    unchecked.train(x)  # what check_grads prevents: the step writes NaN into the parameter
    assert torch.isnan(d.s).all()


def test_a_nonfinite_loss_names_the_invalid_parameter():
    d = Normal(loc=0.0, scale=nn.Parameter(torch.ones(2)), var=["x"], name="p_{data}")
    model = Model(-d.log_prob().mean(), d, optimizer=torch.optim.SGD)
    with torch.no_grad():
        d.scale.fill_(-1.0)  # as a step without a constraint could leave it
    with pytest.raises(NonFiniteLossError, match=r"p_\{data\}\(x\).*scale.*GreaterThan") as info:
        model.train({"x": torch.zeros(3, 2)})
    assert "not finite" in str(info.value)
    assert d.validate_args is False  # restored after the diagnosis
    assert torch.equal(d.scale, torch.full((2,), -1.0))


def test_train_inside_an_open_memo_scope_is_an_error():
    v = make_vae()
    model = Model(vae_loss(v), [v.q, v.p])
    params = params_of(v.q, v.p)
    with dgmcore.memo.scope(), pytest.raises(DGMError, match=r"memo\.scope\(\).*outside"):
        model.train({"x": v.x})
    assert_all_close(params_of(v.q, v.p), params, rtol=0, atol=0)
    model.train({"x": v.x})  # outside the scope: a step


def test_train_rejects_return_dict():
    v = make_vae()
    model = Model(vae_loss(v), [v.q, v.p])
    with pytest.raises(InputTypeError, match="return_dict"):
        model.train({"x": v.x}, return_dict=True)
    assert model.train({"x": v.x}, return_dict=False).shape == ()


def _assert_same_optimizer_state(a, b):
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        for name, value in a["state"][k].items():
            torch.testing.assert_close(value, b["state"][k][name], rtol=0, atol=0)


def _one_sgd_step(**clip):
    v = make_vae()
    model = Model(vae_loss(v), [v.q, v.p], optimizer=torch.optim.SGD, optimizer_params={"lr": 1.0}, **clip)
    before = params_of(v.q, v.p)
    torch.manual_seed(0)
    vae_loss(v).eval({"x": v.x}).backward()
    raw = [p.grad.clone() for m in (v.q, v.p) for p in m.parameters()]
    for m in (v.q, v.p):
        m.zero_grad()
    torch.manual_seed(0)
    model.train({"x": v.x})
    step = [b - a for a, b in zip(params_of(v.q, v.p), before, strict=True)]  # = lr * clipped grad
    return raw, step


def test_clip_grad_norm():
    raw, step = _one_sgd_step(clip_grad_norm=0.1)
    norm = torch.cat([g.flatten() for g in raw]).norm()
    assert norm > 0.1  # clipping does something here
    assert_all_close(step, [g * 0.1 / norm for g in raw], rtol=1e-4, atol=1e-6)


def test_clip_grad_value():
    raw, step = _one_sgd_step(clip_grad_value=0.01)
    assert max(g.abs().max() for g in raw) > 0.01
    assert_all_close(step, [g.clamp(-0.01, 0.01) for g in raw], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("retain_graph", [True, False])
def test_retain_graph_is_passed_to_backward(retain_graph):
    # an input computed once, with a graph of its own, is backpropagated through at every step
    v = make_vae()
    features = nn.Linear(6, 6)
    x = torch.sigmoid(features(v.x))
    model = Model(vae_loss(v), [v.q, v.p], retain_graph=retain_graph)
    model.train({"x": x})
    if retain_graph:
        model.train({"x": x})
    else:
        with pytest.raises(ForwardError, match="retain_graph=True") as info:
            model.train({"x": x})
        assert "backward through the graph a second time" in str(info.value.__cause__)


def test_str_shows_distributions_loss_and_optimizer():
    v = make_vae()
    model = Model(vae_loss(v), [v.q, v.p], optimizer_params={"lr": 0.01})
    text = str(model)
    lines = text.splitlines()
    assert lines[0] == "Distributions (for training):"
    assert lines[1:3] == ["  q(z|x)", "  p(x|z)"]
    assert lines[3] == "Loss function:"
    assert lines[4] == "  mean(KL[q(z|x)||p_{prior}(z)] - E_{q(z|x)}[log p(x|z)])"
    assert lines[5] == "Optimizer:"
    assert "Adam" in text and "lr: 0.01" in text


def test_a_joint_is_shown_factorised():
    v = make_vae()
    model = Model(vae_loss(v), [v.q, v.p * v.prior])
    assert str(model).splitlines()[1:3] == ["  q(z|x)", "  p(x|z)p_{prior}(z)"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"loss": "loss"}, "Loss"),
        ({"distributions": ["p"]}, "distributions"),
        ({"distributions": [Normal(loc=0.0, scale=1.0, var=["x"])]}, "trainable"),
        ({"test_loss": 3.0}, "test_loss"),
        ({"on_nonfinite": "ignore"}, "on_nonfinite"),
    ],
    ids=["loss", "not-a-distribution", "no-parameters", "test-loss", "policy"],
)
def test_bad_arguments(kwargs, match):
    v = make_vae()
    args = {"loss": vae_loss(v), "distributions": [v.q, v.p], **kwargs}
    with pytest.raises(InputTypeError, match=match):
        Model(**args)


def test_single_distribution_and_frozen_parameters():
    q, p = Encoder(), Decoder()
    for param in p.parameters():
        param.requires_grad_(False)
    v = make_vae()
    model = Model((KullbackLeibler(q, v.prior) - p.log_prob().expectation(q)).mean(), q)
    before = params_of(p)
    model.train({"x": v.x})
    assert_all_close(params_of(p), before, rtol=0, atol=0)


def test_an_unreduced_loss_is_a_clear_error():
    v = make_vae()
    model = Model(KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q), [v.q, v.p])
    before = params_of(v.q, v.p)
    with pytest.raises(ShapeError, match=r"scalar.*\(5,\).*\.mean\(\)"):
        model.train({"x": v.x})
    assert_all_close(params_of(v.q, v.p), before, rtol=0, atol=0)
    assert model.test({"x": v.x}).shape == (5,)  # evaluation may keep the batch
