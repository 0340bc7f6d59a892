"""Bad arguments to the losses are typed errors naming the loss (findings R14, R15, R16, R19, R20, R21).

Each case was accepted, crashed with a raw exception, or named no formula at
commit 6536634.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dgmcore
from dgmcore import plugins
from dgmcore.errors import (
    DGMError,
    ForwardError,
    InputTypeError,
    MissingVariableError,
    PluginError,
    ShapeError,
)
from dgmcore.losses import (
    IWELBO,
    ConstantVar,
    CrossEntropy,
    Entropy,
    Expectation,
    KullbackLeibler,
    MaxLoss,
    MinLoss,
    Parameter,
    ValueLoss,
    log_marginal,
)
from tests.families import Cauchy, Normal
from tests.losses.conftest import PlainEncoder, make_vae

VAE = make_vae()


@pytest.mark.parametrize(
    "value", ["a", None, {"a": 1}, 1j, [1.0, 2.0], torch.ones(3), True], ids=repr
)
def test_value_loss_takes_a_real_number_or_a_0_dim_tensor(value):
    with pytest.raises(InputTypeError, match="ValueLoss"):
        ValueLoss(value)


@pytest.mark.parametrize("value", [2, 2.5, np.float64(0.5), np.int64(3), torch.tensor(1.5), torch.tensor(2)])
def test_value_loss_accepts_numbers_and_shows_them(value):
    loss = ValueLoss(value)
    assert loss.eval().item() == pytest.approx(float(value))
    assert loss.eval().dtype == torch.get_default_dtype()
    assert str(loss) == str(value.item() if isinstance(value, torch.Tensor) else value)


def test_a_complex_number_in_arithmetic_is_refused():
    with pytest.raises(InputTypeError, match="real number"):
        KullbackLeibler(VAE.q, VAE.prior) + 1j


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda kl: ConstantVar("kl", {}), "ConstantVar"),
        (lambda kl: ConstantVar(kl, [("beta", 0.1)]), r"ConstantVar\(KL"),
        (lambda kl: ConstantVar(Parameter("beta") * kl, {"btea": 0.1}), r"'btea'.*\['beta', 'x'\]"),
        (lambda kl: MinLoss(kl, "a"), "MinLoss"),
        (lambda kl: MaxLoss(None, kl), "MaxLoss"),
        (lambda kl: Expectation(VAE.q, "f"), r"Expectation over q\(z\|x\)"),
    ],
    ids=["constantvar-loss", "constantvar-dict", "constantvar-typo", "min", "max", "expectation"],
)
def test_bad_loss_arguments_name_the_loss(build, match):
    with pytest.raises(InputTypeError, match=match):
        build(KullbackLeibler(VAE.q, VAE.prior))


@pytest.mark.parametrize("loss", [KullbackLeibler, Entropy, CrossEntropy])
@pytest.mark.parametrize("sample_shape", [-1, 0, 2.5, "3", (0,)])
@pytest.mark.parametrize("analytical", [True, False])
def test_sample_shape_is_checked_whether_analytic_or_not(loss, sample_shape, analytical):
    args = (VAE.q,) if loss is Entropy else (VAE.q, VAE.prior)
    with pytest.raises(InputTypeError, match="sample_shape") as info:
        loss(*args, analytical=analytical, sample_shape=sample_shape)
    assert "q(z|x)" in str(info.value)


@pytest.mark.parametrize("analytical", ["yes", None, 1])
def test_analytical_must_be_a_bool(analytical):
    with pytest.raises(InputTypeError, match="analytical"):
        KullbackLeibler(VAE.q, VAE.prior, analytical=analytical)


def test_numpy_integers_count_as_integers_and_booleans_do_not():
    joint = VAE.p * VAE.prior
    assert IWELBO(joint, VAE.q, k=np.int64(5)).k == 5
    for bad in (True, 0, 2.0, "5"):
        with pytest.raises(InputTypeError, match=r"IWELBO\[p\(x,z\), q\(z\|x\)\] needs a positive integer k"):
            IWELBO(joint, VAE.q, k=bad)
    for kw in ({"k": True}, {"chunk": True}, {"k": -1}):
        with pytest.raises(InputTypeError, match="log_marginal"):
            log_marginal(joint, VAE.q, {"x": VAE.x}, **kw)
    torch.testing.assert_close(
        log_marginal(joint, VAE.q, {"x": VAE.x}, k=np.int64(4), chunk=np.int32(2)).shape, torch.Size([5])
    )


def test_a_missing_variable_with_keys_of_mixed_types_is_named():
    # R07: sorting the keys given raised TypeError ('<' between int and str)
    with pytest.raises(MissingVariableError, match=r"'x'.*\[0, 'z'\]"):
        KullbackLeibler(VAE.q, VAE.prior).eval({"z": torch.zeros(5, 2), 0: torch.zeros(1)})


# -- KL over the wrong pair (R20) ------------------------------------------------------


def test_kl_between_distributions_over_different_variables_is_refused():
    w_prior = Normal(loc=0.0, scale=1.0, var=["w"], features_shape=[2])
    with pytest.raises(InputTypeError, match=r"KL\[q\(z\|x\)\|\|p\(w\)\].*\['z'\].*\['w'\]"):
        KullbackLeibler(VAE.q, w_prior)
    with pytest.raises(InputTypeError, match=r"H\[q\(z\|x\), p\(w\)\]"):
        CrossEntropy(VAE.q, w_prior, analytical=True)


def test_kl_between_declared_features_that_differ_is_refused():
    a = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], features_shape=[2], name="q")
    b = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[1])
    with pytest.raises(ShapeError, match=r"KL\[q\(z\|x\)\|\|p\(z\)\].*\(2,\).*\(1,\)"):
        KullbackLeibler(a, b)


def test_kl_against_a_prior_of_one_feature_does_not_broadcast_it_over_two():
    # q has no declared features (and is fresh): the disagreement shows only at evaluation
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[1])
    with pytest.raises(ShapeError, match=r"p\(z\).*\(1,\).*features differ"):
        KullbackLeibler(PlainEncoder(), prior).eval({"x": VAE.x})


# -- plugin KL functions (R19) ---------------------------------------------------------


def _registered(fn):
    class _Plugin:
        @dgmcore.hookimpl
        def register_kl(self):
            return [(Normal, Cauchy, fn)]

    return _Plugin()


def _bad_scalar(dp, dq):
    return torch.tensor(1.0)


def _bad_batch(dp, dq):
    return torch.zeros(5)


def _bad_float(dp, dq):
    return 1.0


def _bad_raise_type(dp, dq):
    raise TypeError("oops")


def _bad_raise_value(dp, dq):
    raise ValueError("oops")


@pytest.mark.parametrize(
    "fn, match",
    [
        (_bad_scalar, r"returned shape \(\)"),
        (_bad_batch, r"returned shape \(5,\)"),
        (_bad_float, "returned float"),
        (_bad_raise_type, "raised TypeError: oops"),
        (_bad_raise_value, "raised ValueError: oops"),
    ],
    ids=["scalar", "wrong-batch", "float", "TypeError", "ValueError"],
)
def test_a_plugin_kl_function_that_fails_or_returns_a_wrong_shape_is_named(fn, match):
    q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    r = Cauchy(loc=0.0, scale=1.0, var=["z"], features_shape=[4], name="r")
    plugins.register(_registered(fn), name="test-bad-kl")
    try:
        with pytest.raises(PluginError, match=match) as info:
            KullbackLeibler(q, r).eval({"x": torch.zeros(3, 4)})
    finally:
        plugins.unregister("test-bad-kl")
    msg = str(info.value)
    assert "KL[q(z|x)||r(z)]" in msg and fn.__name__ in msg and "(Normal, Cauchy)" in msg


def test_a_plugin_kl_function_of_the_right_shape_is_used():
    q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    r = Cauchy(loc=0.0, scale=1.0, var=["z"], features_shape=[4], name="r")
    plugins.register(_registered(lambda dp, dq: torch.full_like(dp.loc, 0.25)), name="test-good-kl")
    try:
        torch.testing.assert_close(KullbackLeibler(q, r).eval({"x": torch.zeros(3, 4)}), torch.ones(3))
    finally:
        plugins.unregister("test-good-kl")


# -- loss.compile() reports bad input as eager code does (R21) -------------------------


def test_a_compiled_loss_reports_bad_input_as_the_eager_one():
    q = PlainEncoder()
    loss = KullbackLeibler(q, VAE.prior).mean()
    compiled = loss.compile(backend="eager")
    x = VAE.x
    compiled.eval({"x": x})
    compiled.eval({"x": x})
    for bad in (x.long(), torch.zeros(5, 4)):  # a dtype the network refuses, a wrong feature count
        with pytest.raises(DGMError) as eager:
            loss.eval({"x": bad})
        with pytest.raises(type(eager.value)) as got:
            compiled.eval({"x": bad})
        assert isinstance(got.value, ForwardError)
        assert str(got.value).split(" raised")[0] == str(eager.value).split(" raised")[0]
    torch.testing.assert_close(compiled.eval({"x": x}), loss.eval({"x": x}))
