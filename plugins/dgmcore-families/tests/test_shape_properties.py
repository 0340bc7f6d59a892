"""Shape properties over random batch sizes, feature shapes and sample shapes (hypothesis)."""

from __future__ import annotations

import dgmcore_families as fam
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

K = 3  # categories


def _normal(batch, fs):
    d = fam.Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"])
    return d, {"m": torch.randn(batch, *fs)}, fs


def _categorical(batch, fs):
    d = fam.Categorical(logits="l", var=["x"], cond_var=["l"])
    return d, {"l": torch.randn(batch, *fs, K)}, fs


def _one_hot(batch, fs):
    d = fam.OneHotCategorical(logits="l", var=["x"], cond_var=["l"])
    return d, {"l": torch.randn(batch, *fs, K)}, (*fs, K)


def _product(batch, fs):
    experts = [fam.Normal(loc=v, scale=1.0, var=["x"], cond_var=[v]) for v in "ab"]
    inputs = {"a": torch.randn(batch, *fs), "b": torch.randn(batch, *fs)}
    return fam.ProductOfNormal(experts), inputs, fs


def _mixture(batch, fs):
    experts = [fam.Laplace(loc=v, scale=1.0, var=["x"], cond_var=[v]) for v in "ab"]
    inputs = {"a": torch.randn(batch, *fs), "b": torch.randn(batch, *fs)}
    return fam.MixtureOfExperts(experts, [0.4, 0.6]), inputs, fs


def _mvn(batch, fs):
    d = fam.MultivariateNormal(loc="m", scale_tril=torch.eye(2), var=["x"], cond_var=["m"])
    return d, {"m": torch.randn(batch, *fs, 2)}, (*fs, 2)


BUILDERS = [_normal, _categorical, _one_hot, _product, _mixture, _mvn]


@settings(max_examples=60, deadline=None)
@given(
    build=st.sampled_from(BUILDERS),
    batch=st.integers(1, 4),
    features=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    sample_shape=st.lists(st.integers(1, 3), min_size=0, max_size=2),
)
def test_sample_and_score_shapes(build, batch, features, sample_shape):
    dist, inputs, fs = build(batch, tuple(features))
    x = dist.sample(inputs, sample_shape=sample_shape, return_all=False)["x"]
    assert x.shape == (*sample_shape, batch, *fs)
    lp = dist.get_log_prob({**inputs, "x": x})
    assert lp.shape == (*sample_shape, batch)
    assert bool(torch.isfinite(lp).all())


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 4), features=st.lists(st.integers(1, 3), min_size=0, max_size=2))
def test_labels_and_one_hot_agree_for_any_shape(batch, features):
    logits = torch.randn(batch, *features, K)
    labels = torch.randint(0, K, (batch, *features))
    for family in (fam.Categorical, fam.OneHotCategorical):
        d = family(logits="l", var=["y"], cond_var=["l"])
        from_labels = d.get_log_prob({"y": labels, "l": logits})
        from_one_hot = d.get_log_prob({"y": F.one_hot(labels, K).float(), "l": logits})
        torch.testing.assert_close(from_labels, from_one_hot)
        assert from_labels.shape == (batch,)
