"""Property tests: batch, feature and sample dimensions for any shapes.

The rule under test (DESIGN §3): a sample of a variable is
``sample_shape + (batch,) + features_shape``; a summed log density is
``sample_shape + (batch,)``; sample dims are prepended once, even through a joint.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmcore.distributions import extra_sample_dims
from tests.core.families import Categorical, MultivariateNormal, Normal

features = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)
sample_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)
batches = st.integers(1, 5)

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)


@SETTINGS
@given(fs=features, batch=batches, ss=sample_shapes)
def test_unconditional_shapes(fs: tuple[int, ...], batch: int, ss: tuple[int, ...]) -> None:
    p = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=fs)
    assert p.features_shape == fs
    z = p.sample(batch_n=batch, sample_shape=ss)["z"]
    assert z.shape == (*ss, batch, *fs)
    assert p.get_log_prob({"z": z}).shape == (*ss, batch)
    assert p.get_log_prob({"z": z}, sum_features=False).shape == (*ss, batch, *fs)
    ref = torch.distributions.Normal(0.0, 1.0).log_prob(z)
    if fs:
        ref = ref.sum(tuple(range(-len(fs), 0)))
    torch.testing.assert_close(p.get_log_prob({"z": z}), ref)


@SETTINGS
@given(fs=features, batch=batches, ss=sample_shapes, declare=st.booleans())
def test_conditional_shapes(fs: tuple[int, ...], batch: int, ss: tuple[int, ...], declare: bool) -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0, features_shape=fs if declare else ())
    z = torch.randn(batch, *fs)
    x = p.sample({"z": z}, sample_shape=ss)["x"]
    assert x.shape == (*ss, batch, *fs)
    assert p.features_shape == (fs if declare else ())  # inferred per call, never kept
    lp = p.get_log_prob({"z": z, "x": x})
    assert lp.shape == (*ss, batch)
    ref = torch.distributions.Normal(z, 1.0).log_prob(x)
    if fs:
        ref = ref.sum(tuple(range(-len(fs), 0)))
    torch.testing.assert_close(lp, ref)
    assert p.get_entropy({"z": z}).shape == (batch,)


@SETTINGS
@given(fs=features, batch=batches, ss=sample_shapes)
def test_joint_prepends_sample_dims_once(fs: tuple[int, ...], batch: int, ss: tuple[int, ...]) -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=fs)
    mid = Normal(var=["y"], cond_var=["z"], loc="z", scale=1.0)
    top = Normal(var=["x"], cond_var=["y", "z"], loc="y", scale=1.0)
    joint = top * mid * prior
    s = joint.sample(batch_n=batch, sample_shape=ss)
    for v in "xyz":
        assert s[v].shape == (*ss, batch, *fs), v
    with extra_sample_dims(len(ss)):  # scored outside a loss: the sample dims are declared
        lp = joint.get_log_prob(s)
        assert lp.shape == (*ss, batch)
        torch.testing.assert_close(
            lp, prior.get_log_prob(s) + mid.get_log_prob(s) + top.get_log_prob(s)
        )


@SETTINGS
@given(fs=features, batch=batches, ss=sample_shapes)
def test_joint_with_conditioning_input(fs: tuple[int, ...], batch: int, ss: tuple[int, ...]) -> None:
    q = Normal(var=["z"], cond_var=["x"], loc="x", scale=1.0)
    p = Normal(var=["y"], cond_var=["z", "x"], loc="z", scale="x")
    joint = p * q
    x = torch.rand(batch, *fs) + 0.5
    s = joint.sample({"x": x}, sample_shape=ss)
    assert s["x"] is x
    assert s["z"].shape == s["y"].shape == (*ss, batch, *fs)
    with extra_sample_dims(len(ss)):
        assert joint.get_log_prob(s).shape == (*ss, batch)


@SETTINGS
@given(fs=features, batch=batches, ss=sample_shapes, k=st.integers(2, 5))
def test_categorical_event_shapes(fs: tuple[int, ...], batch: int, ss: tuple[int, ...], k: int) -> None:
    p = Categorical(var=["c"], cond_var=["l"], logits="l")
    logits = torch.randn(batch, *fs, k)
    c = p.sample({"l": logits}, sample_shape=ss)["c"]
    assert c.shape == (*ss, batch, *fs)
    assert p.get_log_prob({"l": logits, "c": c}).shape == (*ss, batch)


@SETTINGS
@given(batch=batches, ss=sample_shapes, d=st.integers(1, 4))
def test_multivariate_event_shapes(batch: int, ss: tuple[int, ...], d: int) -> None:
    p = MultivariateNormal(var=["v"], cond_var=["m"], loc="m", scale_tril=torch.eye(d))
    m = torch.randn(batch, d)
    v = p.sample({"m": m}, sample_shape=ss)["v"]
    assert v.shape == (*ss, batch, d)
    lp = p.get_log_prob({"m": m, "v": v})
    assert lp.shape == (*ss, batch)
    ref = torch.distributions.MultivariateNormal(m, scale_tril=torch.eye(d)).log_prob(v)
    torch.testing.assert_close(lp, ref)


@SETTINGS
@given(fs=features, batch=batches, ss=sample_shapes)
def test_values_with_sample_dims_broadcast_against_parameters(
    fs: tuple[int, ...], batch: int, ss: tuple[int, ...]
) -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0, features_shape=fs)
    z = torch.randn(batch, *fs)
    x = torch.randn(*ss, batch, *fs)
    assert p.get_log_prob({"z": z, "x": x}).shape == (*ss, batch)
