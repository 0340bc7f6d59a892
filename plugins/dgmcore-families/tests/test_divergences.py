"""Analytic KL divergences and entropies against Monte-Carlo, through the public losses.

Every pair the plugin registers with ``register_kl`` and every entropy it
registers with ``register_entropy`` has a case here (checked by a meta-test),
plus the pairs from ``torch.distributions.kl`` that models use most, reached
through the dgmcore families.
"""

from __future__ import annotations

import dgmcore_families as fam
import pytest
import torch
from dgmcore_families import plugin
from torch.nn import functional as F

from dgmcore.testing import EntropyCase, KLCase, parametrize

D = torch.distributions
B, N, K = 4, 3, 5


def _pos(*shape: int, low: float = 0.5, high: float = 2.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(*shape)


def _simplex(*shape: int) -> torch.Tensor:
    return F.softmax(torch.randn(*shape), -1)


def normal(name="p", loc="m", scale="s"):
    return one(fam.Normal, name, loc=loc, scale=scale)


def one(family, name, **params):
    """A family of x; its parameters named by strings come from inputs, the others are constants."""
    names = [v for v in params.values() if isinstance(v, str)]
    shape = {} if names else {"features_shape": [N]}
    return lambda: family(var=["x"], cond_var=names, name=name, **params, **shape)


KL_CASES = [
    # registered by the plugin
    KLCase(
        "Categorical||OneHotCategorical",
        one(fam.Categorical, "q", probs="a"),
        one(fam.OneHotCategorical, "p", probs="b"),
        lambda: {"a": _simplex(B, K), "b": _simplex(B, K)},
        lambda x: (x["a"] * (x["a"] / x["b"]).log()).sum(-1),
    ),
    KLCase(
        "OneHotCategorical||Categorical",
        one(fam.OneHotCategorical, "q", probs="a"),
        one(fam.Categorical, "p", logits="b"),
        lambda: {"a": _simplex(B, K), "b": torch.randn(B, K)},
    ),
    KLCase(
        "Multinomial||Multinomial",
        lambda: fam.Multinomial(6, var=["x"], cond_var=["a"], probs="a", name="q"),
        lambda: fam.Multinomial(6, var=["x"], cond_var=["b"], probs="b"),
        lambda: {"a": _simplex(B, K), "b": _simplex(B, K)},
        lambda x: 6 * (x["a"] * (x["a"] / x["b"]).log()).sum(-1),
    ),
    # from torch.distributions.kl, reached through the families
    KLCase(
        "Normal||Normal",
        normal("q"),
        normal("p", loc=0.0, scale=1.0),
        lambda: {"m": torch.randn(B, N), "s": _pos(B, N)},
        lambda x: (0.5 * (x["s"] ** 2 + x["m"] ** 2 - 1) - x["s"].log()).sum(-1),
    ),
    KLCase(
        "Normal||Normal, both conditioned",
        normal("q"),
        normal("p", loc="m2", scale="s2"),
        lambda: {"m": torch.randn(B, N), "s": _pos(B, N), "m2": torch.randn(B, N), "s2": _pos(B, N)},
        lambda x: D.kl_divergence(D.Normal(x["m"], x["s"]), D.Normal(x["m2"], x["s2"])).sum(-1),
    ),
    KLCase(
        "Normal||Normal, constant not standard",
        normal("q"),
        normal("p", loc=0.5, scale=2.0),
        lambda: {"m": torch.randn(B, N), "s": _pos(B, N)},
        lambda x: D.kl_divergence(D.Normal(x["m"], x["s"]), D.Normal(0.5, 2.0)).sum(-1),
    ),
    KLCase(
        "ProductOfNormal||Normal",
        lambda: fam.ProductOfNormal([normal("q")()], name="q"),
        lambda: fam.Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[N]),
        lambda: {"m": torch.randn(B, N), "s": _pos(B, N)},
    ),
    KLCase(
        "Bernoulli||Bernoulli",
        one(fam.Bernoulli, "q", probs="a"),
        one(fam.Bernoulli, "p", logits="b"),
        lambda: {"a": _pos(B, N, low=0.1, high=0.9), "b": torch.randn(B, N)},
    ),
    KLCase(
        "Categorical||Categorical",
        one(fam.Categorical, "q", probs="a"),
        one(fam.Categorical, "p", probs="b"),
        lambda: {"a": _simplex(B, K), "b": _simplex(B, K)},
    ),
    KLCase(
        "Laplace||Laplace",
        one(fam.Laplace, "q", loc="a", scale="b"),
        one(fam.Laplace, "p", loc=0.0, scale=1.0),
        lambda: {"a": torch.randn(B, N), "b": _pos(B, N)},
    ),
    KLCase(
        "Gamma||Gamma",
        one(fam.Gamma, "q", concentration="a", rate="b"),
        one(fam.Gamma, "p", concentration=2.0, rate=1.0),
        lambda: {"a": _pos(B, N, low=1, high=4), "b": _pos(B, N)},
    ),
    KLCase(
        "Beta||Beta",
        one(fam.Beta, "q", concentration1="a", concentration0="b"),
        one(fam.Beta, "p", concentration1=1.5, concentration0=1.5),
        lambda: {"a": _pos(B, N, low=1, high=4), "b": _pos(B, N, low=1, high=4)},
    ),
    KLCase(
        "Dirichlet||Dirichlet",
        one(fam.Dirichlet, "q", concentration="a"),
        lambda: fam.Dirichlet(concentration=torch.ones(K), var=["x"]),
        lambda: {"a": _pos(B, K, low=1, high=4)},
    ),
    KLCase(
        "Poisson||Poisson",
        one(fam.Poisson, "q", rate="a"),
        one(fam.Poisson, "p", rate="b"),
        lambda: {"a": _pos(B, N, low=1, high=5), "b": _pos(B, N, low=1, high=5)},
    ),
    KLCase(
        "Exponential||Gamma",
        one(fam.Exponential, "q", rate="a"),
        one(fam.Gamma, "p", concentration=1.5, rate=1.0),
        lambda: {"a": _pos(B, N)},
    ),
    KLCase(
        "LogNormal||LogNormal",
        one(fam.LogNormal, "q", loc="a", scale="b"),
        one(fam.LogNormal, "p", loc=0.0, scale=1.0),
        lambda: {"a": 0.3 * torch.randn(B, N), "b": _pos(B, N, low=0.3, high=1)},
    ),
    KLCase(
        "Uniform||Uniform",
        one(fam.Uniform, "q", low="a", high="b"),
        one(fam.Uniform, "p", low=-5.0, high=5.0),
        lambda: {"a": (a := torch.rand(B, N)), "b": a + _pos(B, N)},
    ),
    KLCase(
        "MultivariateNormal||MultivariateNormal",
        one(fam.MultivariateNormal, "q", loc="a", scale_tril="b"),
        lambda: fam.MultivariateNormal(loc=torch.zeros(N), covariance_matrix=torch.eye(N), var=["x"]),
        lambda: {
            "a": torch.randn(B, N),
            "b": torch.diag_embed(_pos(B, N)) + torch.randn(B, N, N).tril(-1) * 0.3,
        },
    ),
    KLCase(
        "LowRankMultivariateNormal||MultivariateNormal",
        one(fam.LowRankMultivariateNormal, "q", loc="a", cov_factor="f", cov_diag="d"),
        lambda: fam.MultivariateNormal(loc=torch.zeros(N), scale_tril=torch.eye(N), var=["x"]),
        lambda: {"a": torch.randn(B, N), "f": 0.5 * torch.randn(B, N, 2), "d": _pos(B, N)},
    ),
]

ENTROPY_CASES = [
    # registered by the plugin
    EntropyCase(
        "Poisson", one(fam.Poisson, "p", rate="r"), lambda: {"r": torch.tensor([[0.05, 1.0, 4.0, 30.0]])}
    ),
    # torch's own, through the families
    EntropyCase(
        "Normal",
        normal(),
        lambda: {"m": torch.randn(B, N), "s": _pos(B, N)},
        lambda x: D.Normal(x["m"], x["s"]),
    ),
    EntropyCase(
        "Categorical",
        one(fam.Categorical, "p", probs="a"),
        lambda: {"a": _simplex(B, K)},
        lambda x: D.Categorical(x["a"]),
    ),
    EntropyCase(
        "Multinomial",
        lambda: fam.Multinomial(3, var=["x"], cond_var=["a"], probs="a"),
        lambda: {"a": _simplex(B, K)},
        lambda x: D.Multinomial(3, x["a"]),
    ),
    EntropyCase(
        "StudentT",
        one(fam.StudentT, "p", df="d", loc=0.0, scale=1.0),
        lambda: {"d": _pos(B, N, low=3, high=8)},
        lambda x: D.StudentT(x["d"]),
    ),
    EntropyCase(
        "MultivariateNormal",
        lambda: fam.MultivariateNormal(loc=torch.zeros(N), covariance_matrix=torch.eye(N) + 0.5, var=["x"]),
    ),
    EntropyCase(
        "ProductOfNormal",
        lambda: fam.ProductOfNormal([normal("q")()]),
        lambda: {"m": torch.randn(B, N), "s": _pos(B, N)},
    ),
]


@parametrize(KL_CASES)
def test_kl_pair(case):
    assert "kl_mc" in case.check().passed


@parametrize(ENTROPY_CASES)
def test_entropy(case):
    assert "entropy_mc" in case.check().passed


@pytest.mark.cuda
@parametrize([*KL_CASES, *ENTROPY_CASES])
def test_on_cuda(case):
    """The same tables with every tensor on the GPU (torch's default device set to CUDA)."""
    torch.set_default_device("cuda")
    try:
        case.check()
    finally:
        torch.set_default_device(None)


def _built_types(case: KLCase) -> set[tuple[type, type]]:
    """The dgmcore types of a case's pair, and the torch.distributions types they build."""
    p, q = case.p(), case.q()
    x = case.inputs() if case.inputs is not None else {}
    return {(type(p), type(q)), (type(p.get_dist(x)), type(q.get_dist(x)))}


def test_every_registered_pair_and_entropy_is_checked():
    pairs = set().union(*(_built_types(c) for c in KL_CASES))
    assert {(p, q) for p, q, _ in plugin.register_kl()} <= pairs
    entropies = {type(c.build()) for c in ENTROPY_CASES}
    assert {t for t, _ in plugin.register_entropy()} <= entropies
