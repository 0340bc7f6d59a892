"""LogProb, Prob, Parameter, ValueLoss, ConstantVar, MinLoss, MaxLoss and loss arithmetic.

References are written with ``torch.distributions`` on the same fixed weights.
"""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Bernoulli as TBernoulli
from torch.distributions import Normal as TNormal

from dgmcore.errors import InputTypeError, ShapeError
from dgmcore.losses import (
    ConstantVar,
    Expectation,
    KullbackLeibler,
    LogProb,
    Loss,
    MaxLoss,
    MinLoss,
    Parameter,
    Prob,
    ValueLoss,
)
from tests.families import Normal


def test_log_prob_matches_torch_on_network(vae):
    z = torch.randn(5, 2)
    loss = vae.p.log_prob()
    logits = vae.p.fc2(torch.tanh(vae.p.fc1(z)))
    ref = TBernoulli(logits=logits).log_prob(vae.x).sum(-1)
    torch.testing.assert_close(loss.eval({"x": vae.x, "z": z}), ref)
    assert isinstance(loss, LogProb)


def test_log_prob_sum_features_false_and_feature_dims():
    p = Normal(loc="z", scale=0.5, var=["x"], cond_var=["z"])
    x, z = torch.randn(4, 3), torch.randn(4, 3)
    elementwise = TNormal(z, 0.5).log_prob(x)
    torch.testing.assert_close(p.log_prob(sum_features=False).eval({"x": x, "z": z}), elementwise)
    torch.testing.assert_close(p.log_prob(feature_dims=[1]).eval({"x": x, "z": z}), elementwise.sum(1))
    # D2: an empty list sums nothing (torch's sum(dim=()) would sum the batch away too)
    torch.testing.assert_close(p.log_prob(feature_dims=[]).eval({"x": x, "z": z}), elementwise)
    with pytest.raises(ShapeError, match="feature dimensions"):  # dim 0 is the batch
        p.log_prob(feature_dims=[0]).eval({"x": x, "z": z})
    torch.testing.assert_close(p.log_prob().eval({"x": x, "z": z}), elementwise.sum(-1))


def test_prob_is_exp_log_prob():
    p = Normal(loc="z", scale=2.0, var=["x"], cond_var=["z"])
    x, z = torch.randn(4, 2), torch.randn(4, 2)
    ref = TNormal(z, 2.0).log_prob(x).sum(-1).exp()
    loss = p.prob()
    assert isinstance(loss, Prob)
    torch.testing.assert_close(loss.eval({"x": x, "z": z}), ref)


def test_parameter_value_and_constant():
    assert Parameter("beta").eval({"beta": 0.25}).item() == 0.25
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    out = Parameter("w").eval({"w": t})
    assert out is t
    assert ValueLoss(3).eval().item() == 3.0
    assert ValueLoss(torch.tensor(1.5)).eval({}).item() == 1.5
    assert Parameter("beta").input_var == ["beta"]
    assert ValueLoss(1.0).input_var == []


def test_parameter_rejects_bad_values():
    with pytest.raises(InputTypeError, match="beta"):
        Parameter("beta").eval({"beta": "0.5"})
    with pytest.raises(InputTypeError):
        Parameter("")


def test_constant_var_fixes_variables_without_mutating_the_input():
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    loss = ConstantVar(p.log_prob() * Parameter("beta"), {"beta": 0.5, "z": torch.zeros(3, 2)})
    assert loss.input_var == ["x"]
    x_dict = {"x": torch.ones(3, 2)}
    ref = 0.5 * TNormal(0.0, 1.0).log_prob(torch.ones(3, 2)).sum(-1)
    torch.testing.assert_close(loss.eval(x_dict), ref)
    assert list(x_dict) == ["x"]
    with pytest.raises(InputTypeError):
        ConstantVar(p.log_prob(), [("beta", 1.0)])


def test_min_max_loss():
    a, b = Parameter("a"), Parameter("b")
    va, vb = torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.0, 5.0, 3.0])
    torch.testing.assert_close(MinLoss(a, b).eval({"a": va, "b": vb}), torch.tensor([0.0, -2.0, 3.0]))
    torch.testing.assert_close(MaxLoss(a, b).eval({"a": va, "b": vb}), torch.tensor([1.0, 5.0, 3.0]))
    torch.testing.assert_close(MaxLoss(a, 2.0).eval({"a": va}), torch.tensor([2.0, 2.0, 3.0]))
    assert str(MinLoss(a, b)) == "min(a, b)"
    assert MaxLoss(a, b).input_var == ["a", "b"]


A = torch.tensor([0.5, -2.0, 3.0])
B = torch.tensor([4.0, 0.25, -1.0])

ARITHMETIC = [
    ("a+b", lambda a, b: a + b, A + B),
    ("a-b", lambda a, b: a - b, A - B),
    ("a*b", lambda a, b: a * b, A * B),
    ("a/b", lambda a, b: a / b, A / B),
    ("a+2", lambda a, b: a + 2, A + 2),
    ("2+a", lambda a, b: 2 + a, 2 + A),
    ("a-2", lambda a, b: a - 2, A - 2),
    ("2-a", lambda a, b: 2 - a, 2 - A),
    ("a*3", lambda a, b: a * 3, A * 3),
    ("3*a", lambda a, b: 3 * a, 3 * A),
    ("a/4", lambda a, b: a / 4, A / 4),
    ("4/a", lambda a, b: 4 / a, 4 / A),
    ("a-0.5*b", lambda a, b: a - 0.5 * b, A - 0.5 * B),
    ("-a", lambda a, b: -a, -A),
    ("abs(a)", lambda a, b: abs(a), A.abs()),
    ("a.abs()", lambda a, b: a.abs(), A.abs()),
    ("-(a-b)", lambda a, b: -(a - b), -(A - B)),
    ("a-(b-a)", lambda a, b: a - (b - a), A - (B - A)),
    ("a/(b*a)", lambda a, b: a / (b * a), A / (B * A)),
    ("mean(a)", lambda a, b: a.mean(), A.mean()),
    ("sum(a*b)", lambda a, b: (a * b).sum(), (A * B).sum()),
    ("mean(a)+sum(b)", lambda a, b: a.mean() + b.sum(), A.mean() + B.sum()),
    ("tensor*a", lambda a, b: torch.tensor(2.0) * a, 2 * A),
]


@pytest.mark.parametrize("build, ref", [case[1:] for case in ARITHMETIC], ids=[c[0] for c in ARITHMETIC])
def test_arithmetic_matches_tensor_arithmetic(build, ref):
    loss = build(Parameter("a"), Parameter("b"))
    assert isinstance(loss, Loss)
    torch.testing.assert_close(loss.eval({"a": A, "b": B}), ref)


@pytest.mark.parametrize(
    "build, text",
    [
        (lambda a, b: a - (b - a), "a - (b - a)"),
        (lambda a, b: (a - b) - a, "a - b - a"),
        (lambda a, b: a / (b * a), "a / (b * a)"),
        (lambda a, b: (a + b) * 2, "(a + b) * 2"),
        (lambda a, b: -(a + b), "-(a + b)"),
        (lambda a, b: 2 - a, "2 - a"),
        (lambda a, b: abs(a - b), "|a - b|"),
        (lambda a, b: (a + b).mean(), "mean(a + b)"),
        (lambda a, b: a.sum(), "sum(a)"),
        (lambda a, b: a.detach(), "stopgrad[a]"),
    ],
)
def test_arithmetic_text_brackets_only_where_needed(build, text):
    loss = build(Parameter("a"), Parameter("b"))
    assert str(loss) == text
    # the text is a faithful formula: evaluating it as Python gives the same value
    env = {"a": A, "b": B, "mean": torch.mean, "sum": torch.sum, "stopgrad": torch.Tensor.detach}
    py = text.replace("stopgrad[a]", "stopgrad(a)").replace("|a - b|", "abs(a - b)")
    torch.testing.assert_close(loss.eval({"a": A, "b": B}), eval(py, env))


def test_combining_with_unsupported_objects_is_an_error():
    with pytest.raises(InputTypeError, match="list"):
        Parameter("a") + [1.0]
    with pytest.raises(InputTypeError):
        Parameter("a") * torch.ones(3)  # only 0-d tensors are numbers
    with pytest.raises(TypeError, match="truth value"):
        bool(Parameter("a"))


def test_detach_keeps_value_and_blocks_gradient():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    a = Parameter("w")
    loss = (a * a).sum() + (a * a).detach().sum()
    value = loss.eval({"w": w})
    assert value.item() == pytest.approx(10.0)
    value.backward()
    torch.testing.assert_close(w.grad, 2 * w.detach())  # the detached half adds nothing
    assert not (a * a).detach().eval({"w": w}).requires_grad


def test_mean_and_sum_reduce_the_batch(vae):
    kl = KullbackLeibler(vae.q, vae.prior)
    per_element = kl.eval({"x": vae.x})
    assert per_element.shape == (5,)
    torch.testing.assert_close(kl.mean().eval({"x": vae.x}), per_element.mean())
    torch.testing.assert_close(kl.sum().eval({"x": vae.x}), per_element.sum())
    assert kl.mean().eval({"x": vae.x}).shape == ()


def test_expectation_method_builds_an_expectation(vae):
    e = vae.p.log_prob().expectation(vae.q, sample_shape=(3,))
    assert isinstance(e, Expectation)
    assert e.sample_shape == (3,)
    torch.manual_seed(0)
    v1 = e.eval({"x": vae.x})
    torch.manual_seed(0)
    v2 = Expectation(vae.q, vae.p.log_prob(), sample_shape=(3,)).eval({"x": vae.x})
    torch.testing.assert_close(v1, v2)


def test_input_var(vae):
    q, p, prior = vae.q, vae.p, vae.prior
    assert p.log_prob().input_var == ["x", "z"]
    assert KullbackLeibler(q, prior).input_var == ["x"]
    assert p.log_prob().expectation(q).input_var == ["x"]
    loss = Parameter("beta") * KullbackLeibler(q, prior) - p.log_prob().expectation(q)
    assert loss.input_var == ["beta", "x"]
    assert ConstantVar(loss, {"beta": 1.0}).input_var == ["x"]
    # input_var is a copy: mutating it changes nothing
    loss.input_var.append("y")
    assert loss.input_var == ["beta", "x"]


def test_eval_return_dict_and_return_all(vae):
    loss = (KullbackLeibler(vae.q, vae.prior) - vae.p.log_prob().expectation(vae.q)).mean()
    x_dict = {"x": vae.x, "extra": torch.zeros(1)}
    torch.manual_seed(3)
    value, out = loss.eval(x_dict, return_dict=True)
    assert sorted(out) == ["extra", "x", "z"]
    assert out["x"] is vae.x
    assert out["z"].shape == (5, 2)  # one sample per batch element: no sample dimension
    torch.manual_seed(3)
    value2, only = loss.eval(x_dict, return_dict=True, return_all=False)
    assert sorted(only) == ["z"]
    torch.testing.assert_close(value, value2)
    torch.testing.assert_close(only["z"], out["z"])
    torch.manual_seed(3)
    torch.testing.assert_close(loss(x_dict), value)  # __call__ is eval
    assert sorted(x_dict) == ["extra", "x"]  # the caller's dict is not mutated
    # the returned z is the one the loss used: recompute the loss from it
    ref_z = out["z"]
    hand = (
        KullbackLeibler(vae.q, vae.prior).eval({"x": vae.x})
        - vae.p.log_prob().eval({"x": vae.x, "z": ref_z})
    ).mean()
    torch.testing.assert_close(value, hand)
