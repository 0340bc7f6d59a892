"""The Normal family's fast path: the same numbers as ``torch.distributions.Normal``, fewer operations.

``NormalDist`` and ``StandardNormalDist`` are what the family builds; every value and
gradient here is compared with torch's own ``Normal`` and ``kl_divergence`` on random
parameters (hypothesis), and the constant N(0, 1) is recognised only while it is one.
"""

from __future__ import annotations

import dgmcore_families as fam
import pytest
import torch
from dgmcore_families.normal import NormalDist, StandardNormalDist
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmcore.losses import KullbackLeibler

D = torch.distributions

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3)


def _params(shape, seed):
    g = torch.Generator().manual_seed(seed)
    loc = torch.randn(shape, generator=g, dtype=torch.float64).requires_grad_()
    scale = (0.2 + 2 * torch.rand(shape, generator=g, dtype=torch.float64)).requires_grad_()
    return loc, scale


def _grads(value, tensors):
    return torch.autograd.grad(value.sum(), tensors)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_log_prob_and_its_gradients_equal_torch(shape, seed):
    loc, scale = _params(shape, seed)
    value = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    ours, ref = NormalDist.of(loc, scale).log_prob(value), D.Normal(loc, scale).log_prob(value)
    torch.testing.assert_close(ours, ref)
    for g, w in zip(_grads(ours, [loc, scale]), _grads(ref, [loc, scale]), strict=True):
        torch.testing.assert_close(g, w)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1), n=st.integers(1, 3))
def test_rsample_draws_torchs_values_with_its_gradients(shape, seed, n):
    loc, scale = _params(shape, seed)
    torch.manual_seed(seed)
    ours = NormalDist.of(loc, scale).rsample((n,))
    torch.manual_seed(seed)
    ref = D.Normal(loc, scale).rsample((n,))
    torch.testing.assert_close(ours, ref)
    for g, w in zip(_grads(ours, [loc, scale]), _grads(ref, [loc, scale]), strict=True):
        torch.testing.assert_close(g, w)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**31 - 1))
def test_registered_kl_pairs_equal_torchs_kl(shape, seed):
    lp, sp = _params(shape, seed)
    lq, sq = _params(shape, seed + 7)
    ours = fam.normal.kl_normal_normal(NormalDist.of(lp, sp), NormalDist.of(lq, sq))
    ref = D.kl_divergence(D.Normal(lp, sp), D.Normal(lq, sq))
    torch.testing.assert_close(ours, ref)
    for g, w in zip(_grads(ours, [lp, sp, lq, sq]), _grads(ref, [lp, sp, lq, sq]), strict=True):
        torch.testing.assert_close(g, w)
    zeros, ones = torch.zeros(shape[-1:], dtype=torch.float64), torch.ones(shape[-1:], dtype=torch.float64)
    std = StandardNormalDist.of(zeros, ones)
    ours = fam.normal.kl_normal_standard(NormalDist.of(lp, sp), std)
    ref = D.kl_divergence(D.Normal(lp, sp), D.Normal(zeros, ones))
    torch.testing.assert_close(ours, ref)
    for g, w in zip(_grads(ours, [lp, sp]), _grads(ref, [lp, sp]), strict=True):
        torch.testing.assert_close(g, w)


def test_standard_log_prob_and_kl_broadcast_to_the_prior_batch():
    std = StandardNormalDist.of(torch.zeros(2, 3), torch.ones(2, 3))
    value = torch.randn(3)
    torch.testing.assert_close(std.log_prob(value), D.Normal(0.0, 1.0).log_prob(value).expand(2, 3))
    p = NormalDist.of(torch.randn(3), torch.rand(3) + 0.5)
    ref = D.kl_divergence(D.Normal(p.loc, p.scale), D.Normal(0.0, 1.0)).expand(2, 3)
    torch.testing.assert_close(fam.normal.kl_normal_standard(p, std), ref)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_standard_draw_is_torchs_draw_with_the_same_seed(dtype):
    std = StandardNormalDist.of(torch.zeros(2, 3, dtype=dtype), torch.ones(2, 3, dtype=dtype))
    torch.manual_seed(5)
    ours = std.rsample((4,))
    torch.manual_seed(5)
    ref = D.Normal(torch.zeros(2, 3, dtype=dtype), torch.ones(2, 3, dtype=dtype)).rsample((4,))
    assert ours.shape == (4, 2, 3) and ours.dtype == dtype
    torch.testing.assert_close(ours, ref, rtol=0, atol=0)
    prior = fam.Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3])
    torch.manual_seed(6)
    z = prior.sample(batch_n=5, reparam=True)["z"]
    torch.manual_seed(6)
    torch.testing.assert_close(z, D.Normal(0.0, 1.0).rsample((5, 3)), rtol=0, atol=0)


def test_the_family_builds_the_fast_distributions_and_recognises_the_standard_prior():
    prior = fam.Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3])
    assert type(prior.get_dist()) is StandardNormalDist
    other = fam.Normal(loc=0.5, scale=1.0, var=["z"], features_shape=[3])
    assert type(other.get_dist()) is NormalDist
    q = fam.Normal(loc="m", scale="s", var=["z"], cond_var=["m", "s"])
    assert type(q.get_dist({"m": torch.zeros(2, 3), "s": torch.ones(2, 3)})) is NormalDist
    learned = fam.Normal(loc=torch.nn.Parameter(torch.zeros(3)), scale=1.0, var=["z"])
    assert type(learned.get_dist()) is NormalDist  # a parameter equal to 0 now need not stay so
    # validating or broadcasting: torch's own construction, still the subclass
    checked = fam.Normal(loc="m", scale=1.0, var=["z"], cond_var=["m"], validate_args=True)
    assert isinstance(checked.get_dist({"m": torch.zeros(2, 3)}), NormalDist)


def test_a_prior_changed_in_place_is_no_longer_treated_as_standard():
    prior = fam.Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3])
    q = fam.Normal(loc="m", scale="s", var=["z"], cond_var=["m", "s"], name="q")
    x = {"m": torch.randn(4, 3), "s": torch.rand(4, 3) + 0.5}
    kl = KullbackLeibler(q, prior)
    kl.eval(x)
    prior.load_state_dict({"loc": torch.full((3,), 1.0), "scale": torch.full((3,), 2.0)})
    assert type(prior.get_dist()) is NormalDist
    ref = D.kl_divergence(D.Normal(x["m"], x["s"]), D.Normal(1.0, 2.0)).sum(-1)
    torch.testing.assert_close(kl.eval(x), ref)
    z = torch.randn(4, 3)
    torch.testing.assert_close(prior.get_log_prob({"z": z}), D.Normal(1.0, 2.0).log_prob(z).sum(-1))
    prior.load_state_dict({"loc": torch.zeros(3), "scale": torch.ones(3)})
    assert type(prior.get_dist()) is StandardNormalDist


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_constant_distribution_is_built_once_and_again_after_a_change(dtype):
    prior = fam.Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3]).to(dtype)
    first = prior.get_dist()
    assert prior.get_dist() is first  # buffers unchanged: the same object
    assert first.loc.dtype == dtype
    prior.loc.add_(1.0)  # an in-place write moves the version counter
    moved = prior.get_dist()
    assert moved is not first and torch.equal(moved.loc, torch.ones(3, dtype=dtype))
    other = prior.to(torch.float16 if dtype is torch.float32 else torch.float32)
    assert other.get_dist().loc.dtype == other.loc.dtype  # .to() replaces the buffers


def test_learned_constants_are_read_fresh_after_every_optimizer_step():
    loc = torch.nn.Parameter(torch.zeros(3))
    prior = fam.Normal(loc=loc, scale=1.0, var=["z"])
    opt = torch.optim.SGD(prior.parameters(), lr=0.5)
    z = torch.ones(2, 3)
    for _ in range(3):
        opt.zero_grad()
        (-prior.get_log_prob({"z": z}).sum()).backward()
        opt.step()
        torch.testing.assert_close(prior.get_dist().loc, loc.detach())
    assert loc.detach().gt(0).all()
