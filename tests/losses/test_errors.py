"""Bad inputs to losses give typed errors that name what was expected and what was given."""

from __future__ import annotations

import pytest
import torch

from dgmcore.errors import DGMError, ForwardError, InputTypeError, MissingVariableError, ShapeError
from dgmcore.losses import ELBO, IWELBO, Expectation, KullbackLeibler, LogProb, Parameter
from tests.families import Normal
from tests.losses.conftest import make_vae

V = make_vae()
VAE_LOSS = (KullbackLeibler(V.q, V.prior) - V.p.log_prob().expectation(V.q)).mean()


@pytest.mark.parametrize(
    "x_dict, given",
    [({"y": V.x}, "['y']"), ({}, "no variables"), (None, "no variables")],
    ids=["other-variable", "empty", "none"],
)
def test_missing_variable(x_dict, given):
    with pytest.raises(MissingVariableError) as info:
        VAE_LOSS.eval(x_dict)
    assert isinstance(info.value, KeyError)  # code written for dict lookups still catches it
    assert info.value.variable == "x"
    assert "q(z|x)" in str(info.value) and given in str(info.value)


def test_missing_conditioning_variable_of_a_density_term():
    with pytest.raises(MissingVariableError, match=r"p\(x\|z\) needs the variable 'z'"):
        V.p.log_prob().eval({"x": V.x})


def test_unknown_parameter():
    loss = Parameter("beta") * KullbackLeibler(V.q, V.prior)
    with pytest.raises(MissingVariableError) as info:
        loss.eval({"x": V.x})
    assert "Parameter('beta')" in str(info.value) and "['x']" in str(info.value)
    assert info.value.variable == "beta"


@pytest.mark.parametrize("bad", [V.x, [V.x], "x", V.x.numpy()], ids=["tensor", "list", "str", "ndarray"])
def test_x_dict_must_be_a_dict(bad):
    with pytest.raises(InputTypeError) as info:
        VAE_LOSS.eval(bad)
    assert "['x']" in str(info.value) and type(bad).__name__ in str(info.value)


def test_values_must_be_tensors():
    with pytest.raises(InputTypeError, match="ndarray"):
        VAE_LOSS.eval({"x": V.x.numpy()})
    with pytest.raises(InputTypeError, match="list"):
        V.p.log_prob().eval({"x": V.x, "z": [[0.0, 0.0]] * 5})


def test_wrong_feature_shape_of_an_observed_variable():
    with pytest.raises(ShapeError) as info:
        V.p.log_prob().eval({"x": torch.zeros(5, 7), "z": torch.zeros(5, 2)})
    assert "p(x|z)" in str(info.value) and "(5, 7)" in str(info.value) and "(6,)" in str(info.value)
    p = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[6])
    with pytest.raises(ShapeError, match=r"p\(x\)"):
        p.log_prob().eval({"x": torch.zeros(5, 7)})


def test_wrong_shape_into_a_network_names_the_distribution_and_shapes():
    with pytest.raises(ForwardError) as info:
        VAE_LOSS.eval({"x": torch.zeros(5, 7)})
    assert "q(z|x)" in str(info.value) and "(5, 7)" in str(info.value)
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize(
    "build",
    [
        lambda: KullbackLeibler(V.q, "prior"),
        lambda: LogProb(torch.zeros(2)),
        lambda: ELBO(V.p, 3),
        lambda: IWELBO("p", V.q),
        lambda: Expectation(V.q, "f"),
        lambda: Expectation(None, V.p.log_prob()),
    ],
    ids=["kl", "logprob", "elbo", "iwelbo", "expectation-f", "expectation-p"],
)
def test_losses_need_distributions_and_losses(build):
    with pytest.raises(InputTypeError):
        build()


def test_every_error_is_a_dgm_error():
    for exc in (MissingVariableError, InputTypeError, ShapeError, ForwardError):
        assert issubclass(exc, DGMError)


def test_combining_with_a_non_number_names_the_loss_and_numpy_scalars_are_numbers():
    import numpy as np

    from dgmcore.losses import Parameter

    beta = Parameter("beta")
    assert str(np.array(2.0) + beta) == str(2.0 + beta)  # NumPy defers to the loss
    with pytest.raises(InputTypeError, match=r"the loss beta with str 'x'"):
        beta + "x"
    with pytest.raises(InputTypeError, match="truth value"):
        bool(beta)
