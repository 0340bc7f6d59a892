"""KullbackLeibler, Entropy and CrossEntropy against torch.distributions and Monte-Carlo."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.distributions import kl_divergence

import dgmcore
from dgmcore import plugins
from dgmcore.errors import DGMWarning, KLNotFoundError, ShapeError
from dgmcore.losses import CrossEntropy, Entropy, KullbackLeibler
from tests.families import Bernoulli, Categorical, Cauchy, Laplace, Normal

G = torch.Generator().manual_seed(0)


def _rand(*shape):
    return torch.randn(*shape, generator=G)


def _make(family, prefix, name, **values):
    """A distribution whose parameters are inputs ``<prefix>_<param>``: batch 3, 4 features."""
    names = {k: f"{prefix}_{k}" for k in values}
    d = family(var=["z"], cond_var=list(names.values()), name=name, **names)
    return d, {names[k]: v for k, v in values.items()}


def _pair(fam_p, fam_q, **params):
    p, xp = _make(fam_p, "p", "q", **{k: v() for k, v in params.items()})
    q, xq = _make(fam_q, "q", "p", **{k: v() for k, v in params.items()})
    return p, q, {**xp, **xq}


POS = {"loc": lambda: _rand(3, 4), "scale": lambda: _rand(3, 4).exp()}
PAIRS = [
    ("Normal-Normal", *_pair(Normal, Normal, **POS)),
    ("Normal-Laplace", *_pair(Normal, Laplace, **POS)),
    ("Laplace-Normal", *_pair(Laplace, Normal, **POS)),
    ("Laplace-Laplace", *_pair(Laplace, Laplace, **POS)),
    ("Bernoulli-Bernoulli", *_pair(Bernoulli, Bernoulli, logits=lambda: _rand(3, 4))),
    ("Categorical-Categorical", *_pair(Categorical, Categorical, logits=lambda: _rand(3, 5))),
]
IDS = [c[0] for c in PAIRS]
CASES = [c[1:] for c in PAIRS]


def _feature_sum(t, p):
    return t.sum(-1) if p.family is not torch.distributions.Categorical else t


@pytest.mark.parametrize("p, q, x", CASES, ids=IDS)
def test_analytic_kl_matches_torch(p, q, x):
    ref = _feature_sum(kl_divergence(p.get_dist(x), q.get_dist(x)), p)
    value = KullbackLeibler(p, q).eval(x)
    assert value.shape == (3,)
    torch.testing.assert_close(value, ref)


@pytest.mark.parametrize("p, q, x", CASES, ids=IDS)
def test_monte_carlo_kl_within_error_of_analytic(p, q, x):
    n = 20000
    torch.manual_seed(1)
    mc = KullbackLeibler(p, q, analytical=False, sample_shape=(n,)).eval(x)
    exact = KullbackLeibler(p, q).eval(x)
    # standard error from an independent draw of the same log-ratio
    dp, dq = p.get_dist(x), q.get_dist(x)
    z = dp.sample((n,))
    se = _feature_sum(dp.log_prob(z) - dq.log_prob(z), p).std(0) / n**0.5
    assert mc.shape == exact.shape == (3,)
    assert ((mc - exact).abs() < 5 * se + 1e-4).all(), (mc, exact, se)


def test_kl_between_constant_distributions_is_a_scalar():
    # constants given at construction are all features: there is no batch dimension
    p = Normal(loc=torch.zeros(3), scale=torch.ones(3), var=["z"], name="q")
    q = Normal(loc=torch.ones(3), scale=2 * torch.ones(3), var=["z"])
    ref = kl_divergence(torch.distributions.Normal(0.0, 1.0), torch.distributions.Normal(1.0, 2.0))
    torch.testing.assert_close(KullbackLeibler(p, q).eval(), 3 * ref)


def test_kl_of_networks_matches_torch_and_backpropagates(vae):
    kl = KullbackLeibler(vae.q, vae.prior).eval({"x": vae.x})
    h = vae.q.fc2(torch.tanh(vae.q.fc1(vae.x)))
    dq = torch.distributions.Normal(h[:, :2], nn.functional.softplus(h[:, 2:]) + 1e-3)
    ref = kl_divergence(dq, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(kl, ref)
    kl.sum().backward()
    assert all(p.grad is not None for p in vae.q.parameters())


def test_missing_pair_names_both_and_suggests_monte_carlo():
    p = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="q")
    q = Cauchy(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
    with pytest.raises(KLNotFoundError) as info:
        KullbackLeibler(p, q).eval()
    msg = str(info.value)
    assert "q(z)" in msg and "p(z)" in msg
    assert "Normal" in msg and "Cauchy" in msg
    assert "analytical=False" in msg
    assert isinstance(info.value, dgmcore.DGMError)
    torch.manual_seed(0)
    mc = KullbackLeibler(p, q, analytical=False, sample_shape=(20000,)).eval()
    # KL[N(0,1) || Cauchy(0,1)] per dimension, by quadrature
    grid = torch.linspace(-12, 12, 200001)
    dens = torch.distributions.Normal(0.0, 1.0).log_prob(grid)
    integrand = dens.exp() * (dens - torch.distributions.Cauchy(0.0, 1.0).log_prob(grid))
    exact = 2 * torch.trapezoid(integrand, grid)
    assert (mc - exact).abs().item() < 0.03


class _MyKL:
    """A plugin registering an analytic KL for (Normal, Cauchy): a stand-in value."""

    @dgmcore.hookimpl
    def register_kl(self):
        return [(Normal, Cauchy, lambda dp, dq: torch.full_like(dp.loc, 0.25))]


def test_a_pair_registered_by_a_plugin_is_used():
    p = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="q")
    q = Cauchy(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
    plugins.register(_MyKL(), name="test-losses-kl")
    try:
        assert KullbackLeibler(p, q).eval().item() == pytest.approx(0.5)  # 2 features
    finally:
        plugins.unregister("test-losses-kl")
    with pytest.raises(KLNotFoundError):
        KullbackLeibler(p, q).eval()


class _SubNormal(Normal):
    pass


class _SubCauchy(Cauchy):
    pass


class _AmbiguousKL:
    """(SubNormal, Cauchy) and (Normal, SubCauchy): each more specific in one type."""

    @dgmcore.hookimpl
    def register_kl(self):
        return [
            (_SubNormal, Cauchy, lambda dp, dq: torch.full_like(dp.loc, 1.0)),
            (Normal, _SubCauchy, lambda dp, dq: torch.full_like(dp.loc, 2.0)),
            (Normal, Cauchy, lambda dp, dq: torch.full_like(dp.loc, 3.0)),
        ]


def test_an_ambiguous_pair_warns_and_the_first_type_decides():
    """As torch.distributions.kl: neither candidate more specific in both types is a warning
    naming both; the more specific p wins; an unambiguous lookup says nothing."""
    p = _SubNormal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="q")
    q = _SubCauchy(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
    plugins.register(_AmbiguousKL(), name="test-losses-kl-ambiguous")
    try:
        with pytest.warns(DGMWarning, match=r"ambiguous analytic KL for \(_SubNormal, _SubCauchy\)"):
            value = KullbackLeibler(p, q).eval()
        assert value.item() == pytest.approx(2.0)  # (SubNormal, Cauchy): 1.0 per feature
        plain = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="q")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert KullbackLeibler(plain, q).eval().item() == pytest.approx(4.0)  # (Normal, SubCauchy)
    finally:
        plugins.unregister("test-losses-kl-ambiguous")


ENTROPY = {i.split("-")[0]: (c[0], c[2]) for i, c in zip(IDS, CASES, strict=True)}


@pytest.mark.parametrize("p, x", list(ENTROPY.values()), ids=list(ENTROPY))
def test_entropy_analytic_and_monte_carlo(p, x):
    ref = _feature_sum(p.get_dist(x).entropy(), p)
    torch.testing.assert_close(Entropy(p).eval(x), ref)
    n = 20000
    torch.manual_seed(3)
    mc = Entropy(p, analytical=False, sample_shape=(n,)).eval(x)
    assert mc.shape == (3,)
    dp = p.get_dist(x)
    se = _feature_sum(dp.log_prob(dp.sample((n,))), p).std(0) / n**0.5
    assert ((mc - ref).abs() < 5 * se + 1e-4).all()


def test_cross_entropy_monte_carlo_and_analytic():
    p = Normal(loc=torch.tensor([0.5, -1.0]), scale=torch.tensor([1.0, 0.3]), var=["z"], name="q")
    q = Normal(loc=torch.tensor([0.0, 0.0]), scale=torch.tensor([2.0, 1.0]), var=["z"])
    # H[p, q] = sum log(s_q sqrt(2 pi)) + (s_p^2 + (m_p - m_q)^2) / (2 s_q^2)
    exact = (
        torch.log(q.scale * (2 * torch.pi) ** 0.5) + (p.scale**2 + (p.loc - q.loc) ** 2) / (2 * q.scale**2)
    ).sum()
    torch.testing.assert_close(CrossEntropy(p, q, analytical=True).eval().squeeze(), exact)
    torch.manual_seed(4)
    mc = CrossEntropy(p, q, sample_shape=(40000,)).eval().squeeze()
    assert (mc - exact).abs().item() < 0.03


def test_kl_of_identical_distributions_is_zero(vae):
    kl = KullbackLeibler(vae.q, vae.q).eval({"x": vae.x})
    torch.testing.assert_close(kl, torch.zeros(5))


@pytest.mark.parametrize("analytical", [True, False])
def test_kl_and_entropy_of_unconditioned_distributions_are_scalars_either_way(analytical):
    # no batch: the Monte-Carlo estimate has the closed form's shape, not a batch of one
    p = Normal(loc=torch.zeros(3), scale=torch.ones(3), var=["z"], name="q")
    q = Normal(loc=torch.ones(3), scale=2 * torch.ones(3), var=["z"])
    kw = {} if analytical else {"sample_shape": (10,)}
    assert KullbackLeibler(p, q, analytical=analytical, **kw).eval().shape == ()
    assert Entropy(p, analytical=analytical, **kw).eval().shape == ()
    assert KullbackLeibler(p, q, analytical=analytical).eval().shape == ()  # the default (1,)


def test_analytic_kl_of_mismatched_shapes_names_both_terms():
    q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    r = Normal(loc="y", scale=1.0, var=["z"], cond_var=["y"], name="r")
    with pytest.raises(ShapeError, match=r"q\(z\|x\).*\(4, 3\).*r\(z\|y\).*\(3, 3\)"):
        KullbackLeibler(q, r).eval({"x": torch.zeros(4, 3), "y": torch.zeros(3, 3)})
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_{prior}")
    with pytest.raises(ShapeError, match=r"q\(z\|x\).*\(4, 3\).*p_\{prior\}\(z\).*\(2,\)"):
        KullbackLeibler(q, prior).eval({"x": torch.zeros(4, 3)})
