"""Shapes: one value per batch element until .mean()/.sum(); sample dims averaged; mismatches named."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmcore.errors import InputTypeError, ShapeError
from dgmcore.losses import (
    ELBO,
    IWELBO,
    CrossEntropy,
    Entropy,
    Expectation,
    KullbackLeibler,
    Parameter,
)
from tests.families import Normal
from tests.losses.conftest import make_vae

VAE = make_vae()

BUILDERS = {
    "log_prob": lambda v, s: v.p.log_prob().expectation(v.q, s),
    "prior_expectation": lambda v, s: v.p.log_prob().expectation(v.prior, s),
    "kl": lambda v, s: KullbackLeibler(v.q, v.prior),
    "kl_mc": lambda v, s: KullbackLeibler(v.q, v.prior, analytical=False, sample_shape=s),
    "entropy": lambda v, s: Entropy(v.q),
    "entropy_mc": lambda v, s: Entropy(v.q, analytical=False, sample_shape=s),
    "cross_entropy": lambda v, s: CrossEntropy(v.q, v.prior, sample_shape=s),
    "elbo": lambda v, s: ELBO(v.p * v.prior, v.q, sample_shape=s),
    "iwelbo": lambda v, s: IWELBO(v.p * v.prior, v.q, k=s[0]),
    "vae": lambda v, s: KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q, s),
    "scaled": lambda v, s: 0.5 * (Entropy(v.q) + 1) / 2 - abs(KullbackLeibler(v.q, v.prior)),
}


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(BUILDERS)),
    batch=st.integers(1, 7),
    sample_shape=st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple),
)
def test_one_value_per_batch_element_until_reduced(name, batch, sample_shape):
    if name == "iwelbo":
        sample_shape = sample_shape[:1]
    loss = BUILDERS[name](VAE, sample_shape)
    x = {"x": torch.bernoulli(torch.full((batch, VAE.x_dim), 0.5))}
    assert loss.eval(x).shape == (batch,)
    assert loss.mean().eval(x).shape == ()
    assert loss.sum().eval(x).shape == ()


def test_multi_dimensional_features_are_summed():
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"], features_shape=[2, 3])
    q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q", features_shape=[2, 3])
    x = torch.randn(4, 2, 3)
    assert p.log_prob().expectation(q, (5,)).eval({"x": x}).shape == (4,)
    assert p.log_prob().eval({"x": x, "z": x}).shape == (4,)


def test_mismatched_batch_sizes_between_terms_name_both_terms():
    loss = Parameter("a") - 2 * Parameter("b")
    with pytest.raises(ShapeError) as info:
        loss.eval({"a": torch.zeros(3), "b": torch.zeros(4)})
    msg = str(info.value)
    assert "a" in msg and "2 * b" in msg and "(3,)" in msg and "(4,)" in msg


def test_mismatched_batch_sizes_between_density_terms():
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    r = Normal(loc=0.0, scale=1.0, var=["y"], features_shape=[2], name="r")
    loss = p.log_prob() + r.log_prob()
    with pytest.raises(ShapeError) as info:
        loss.eval({"x": torch.zeros(5, 2), "z": torch.zeros(5, 2), "y": torch.zeros(3, 2)})
    msg = str(info.value)
    assert "log p(x|z)" in msg and "log r(y)" in msg


def test_a_batch_mismatch_inside_one_term_names_the_distribution():
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    with pytest.raises(ShapeError, match=r"p\(x\|z\)"):
        p.log_prob().eval({"x": torch.zeros(5, 2), "z": torch.zeros(4, 2)})


def test_expectation_with_two_sample_dims():
    v = make_vae(batch=3)
    e = Expectation(v.q, v.p.log_prob(), sample_shape=(2, 4))
    value, out = e.eval({"x": v.x}, return_dict=True)
    assert value.shape == (3,)
    assert out["z"].shape == (2, 4, 3, 2)


def test_an_error_other_than_shapes_is_not_reported_as_a_batch_mismatch():
    a, b = Parameter("a"), Parameter("b")
    flags = torch.tensor([True, False, True])
    with pytest.raises(InputTypeError, match=r"a - b.*bool") as info:  # torch cannot subtract booleans
        (a - b).eval({"a": flags, "b": flags})
    assert not isinstance(info.value, ShapeError)
    assert isinstance(info.value.__cause__, RuntimeError)
