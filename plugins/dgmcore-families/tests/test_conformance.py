"""Every family of the plugin through the conformance kit, against independent references.

References are ``torch.distributions`` objects built from the same inputs, or
closed forms written out here (products of experts, mixtures, posteriors).
"""

from __future__ import annotations

import math

import dgmcore_families as fam
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dgmcore.testing import Case, parametrize

D = torch.distributions
B, N, K = 4, 3, 5  # batch, features, categories


def _rand(*shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(*shape)


def _tril(*batch: int, d: int = N) -> torch.Tensor:
    m = torch.randn(*batch, d, d).tril(-1) * 0.5
    return m + torch.diag_embed(_rand(*batch, d, low=0.5, high=1.5))


class Formula:
    """A reference written as formulas: ``log_prob(value)`` and optional moments."""

    def __init__(self, log_prob, mean=None, variance=None):
        self.log_prob, self._mean, self._variance = log_prob, mean, variance

    @property
    def mean(self):
        if self._mean is None:
            raise NotImplementedError
        return self._mean

    @property
    def variance(self):
        if self._variance is None:
            raise NotImplementedError
        return self._variance


def product_reference(locs, scales, present=None):
    """Closed-form product of N(0, 1) and the Gaussian experts (stacked on dim 0)."""
    prec = scales.pow(-2) if present is None else torch.where(present, scales.pow(-2), 0.0)
    total = 1.0 + prec.sum(0)
    return D.Normal((prec * locs).sum(0) / total, total.rsqrt())


class NetNormal(fam.Normal):
    """A Pixyz-style network distribution q(z|h)."""

    def __init__(self):
        super().__init__(var=["z"], cond_var=["h"], name="q")
        self.net = nn.Linear(N, 2 * N)

    def forward(self, h):
        loc, raw = self.net(h).chunk(2, -1)
        return {"loc": loc, "scale": F.softplus(raw) + 0.1}


# Constants are made when used, so that they land on torch's default device (see the CUDA test).
def tril():
    return torch.tensor([[1.0, 0.0, 0.0], [0.5, 0.8, 0.0], [-0.3, 0.2, 1.2]])


def w_expert():
    return torch.linspace(-1.0, 1.0, 4 * N).reshape(4, N)


class AttributeExpert(fam.Normal):
    """p(z|a) for ElementWiseProductOfNormal: linear in the attribute vector a (4 elements)."""

    def __init__(self):
        super().__init__(var=["z"], cond_var=["a"], features_shape=[N])
        self.register_buffer("w", w_expert())

    def forward(self, a):
        return {"loc": a @ self.w, "scale": F.softplus(a @ self.w.flip(0)) + 0.5}


def _gauss_experts():
    return [fam.Normal(loc=v, scale="s" + v, var=["z"], cond_var=[v, "s" + v], name="q") for v in "xy"]


def _expert_inputs():
    return {
        "x": torch.randn(B, N),
        "sx": _rand(B, N, low=0.5),
        "y": torch.randn(B, N),
        "sy": _rand(B, N, low=0.5),
    }


def _mixture_components():
    return [
        fam.Normal(loc=float(m), scale=0.5 + i / 4, var=["x"], features_shape=[2])
        for i, m in enumerate((-2, 0, 3))
    ]


def mix_w():
    return torch.tensor([0.2, 0.5, 0.3])


def _mixture_reference(w=None):
    w = mix_w() if w is None else w
    locs = torch.tensor([-2.0, 0.0, 3.0]).unsqueeze(-1).expand(3, 2)
    scales = torch.tensor([0.5, 0.75, 1.0]).unsqueeze(-1).expand(3, 2)
    return D.MixtureSameFamily(D.Categorical(w), D.Independent(D.Normal(locs, scales), 1))


def _posterior_reference(x):
    comps = D.Independent(
        D.Normal(
            torch.tensor([[-2.0] * 2, [0.0] * 2, [3.0] * 2]), torch.tensor([[0.5] * 2, [0.75] * 2, [1.0] * 2])
        ),
        1,
    )
    return D.Categorical(logits=mix_w().log() + comps.log_prob(x["x"].unsqueeze(-2)))


def _elementwise_reference(x):
    a = x["a"]
    w = w_expert()
    experts = [a[:, i : i + 1] * w[i] for i in range(4)]
    scales = [F.softplus(a[:, i : i + 1] * w.flip(0)[i]) + 0.5 for i in range(4)]
    present = (a != 0).T.unsqueeze(-1).expand(4, B, N)
    return product_reference(torch.stack(experts), torch.stack(scales), present)


def c(name, build, inputs=None, reference=None, **options):
    return Case(name, build, inputs, reference, options)


def cond(family, names, **kw):
    return lambda: family(var=["x"], cond_var=list(names), **{n: n for n in names}, **kw)


CASES = [
    c(
        "Normal",
        cond(fam.Normal, ["loc", "scale"]),
        lambda: {"loc": torch.randn(B, N), "scale": _rand(B, N, low=0.5)},
        lambda x: D.Normal(x["loc"], x["scale"]),
    ),
    c(
        "Normal-constant",
        lambda: fam.Normal(loc=1.0, scale=2.0, var=["x"], features_shape=[N]),
        None,
        lambda x: D.Normal(torch.ones(N), 2.0),
    ),
    c("Normal-network", NetNormal, lambda: {"h": torch.randn(B, N)}),
    c(
        "Bernoulli",
        cond(fam.Bernoulli, ["probs"]),
        lambda: {"probs": _rand(B, N, low=0.1, high=0.9)},
        lambda x: D.Bernoulli(x["probs"], validate_args=False),
        values=_rand(B, N),
    ),
    c(
        "Bernoulli-logits",
        cond(fam.Bernoulli, ["logits"]),
        lambda: {"logits": torch.randn(B, N)},
        lambda x: D.Bernoulli(logits=x["logits"]),
    ),
    c(
        "Categorical",
        cond(fam.Categorical, ["probs"]),
        lambda: {"probs": F.softmax(torch.randn(B, K), -1)},
        lambda x: D.Categorical(x["probs"]),
    ),
    c(
        "Categorical-features",
        cond(fam.Categorical, ["logits"]),
        lambda: {"logits": torch.randn(B, N, K)},
        lambda x: D.Categorical(logits=x["logits"]),
    ),
    c(
        "OneHotCategorical",
        cond(fam.OneHotCategorical, ["probs"]),
        lambda: {"probs": F.softmax(torch.randn(B, K), -1)},
        lambda x: D.OneHotCategorical(x["probs"]),
    ),
    c(
        "Multinomial",
        lambda: fam.Multinomial(7, var=["x"], cond_var=["probs"], probs="probs"),
        lambda: {"probs": F.softmax(torch.randn(B, K), -1)},
        lambda x: D.Multinomial(7, x["probs"]),
    ),
    c(
        "Laplace",
        cond(fam.Laplace, ["loc", "scale"]),
        lambda: {"loc": torch.randn(B, N), "scale": _rand(B, N, low=0.5)},
        lambda x: D.Laplace(x["loc"], x["scale"]),
    ),
    c(
        "Beta",
        cond(fam.Beta, ["concentration1", "concentration0"]),
        lambda: {
            "concentration1": _rand(B, N, low=0.5, high=3),
            "concentration0": _rand(B, N, low=0.5, high=3),
        },
        lambda x: D.Beta(x["concentration1"], x["concentration0"]),
    ),
    c(
        "Gamma",
        cond(fam.Gamma, ["concentration", "rate"]),
        lambda: {"concentration": _rand(B, N, low=0.5, high=4), "rate": _rand(B, N, low=0.5, high=2)},
        lambda x: D.Gamma(x["concentration"], x["rate"]),
    ),
    c(
        "Dirichlet",
        cond(fam.Dirichlet, ["concentration"]),
        lambda: {"concentration": _rand(B, K, low=0.5, high=3)},
        lambda x: D.Dirichlet(x["concentration"]),
    ),
    c(
        "Uniform",
        lambda: fam.Uniform(low="low", high="high", var=["x"], cond_var=["low", "high"]),
        lambda: {"low": (low := torch.randn(B, N)), "high": low + _rand(B, N, low=0.5, high=2)},
        lambda x: D.Uniform(x["low"], x["high"]),
    ),
    c(
        "Poisson",
        cond(fam.Poisson, ["rate"]),
        lambda: {"rate": _rand(B, N, low=0.5, high=6)},
        lambda x: D.Poisson(x["rate"]),
    ),
    c(
        "StudentT",
        cond(fam.StudentT, ["df", "loc", "scale"]),
        lambda: {"df": _rand(B, N, low=6, high=10), "loc": torch.randn(B, N), "scale": _rand(B, N, low=0.5)},
        lambda x: D.StudentT(x["df"], x["loc"], x["scale"]),
    ),
    c(
        "Cauchy",
        cond(fam.Cauchy, ["loc", "scale"]),
        lambda: {"loc": torch.randn(B, N), "scale": _rand(B, N, low=0.5)},
        lambda x: D.Cauchy(x["loc"], x["scale"]),
    ),
    c(
        "Exponential",
        cond(fam.Exponential, ["rate"]),
        lambda: {"rate": _rand(B, N, low=0.5, high=3)},
        lambda x: D.Exponential(x["rate"]),
    ),
    c(
        "LogNormal",
        cond(fam.LogNormal, ["loc", "scale"]),
        lambda: {"loc": 0.3 * torch.randn(B, N), "scale": _rand(B, N, low=0.2, high=0.5)},
        lambda x: D.LogNormal(x["loc"], x["scale"]),
    ),
    c(
        "MultivariateNormal",
        cond(fam.MultivariateNormal, ["loc", "scale_tril"]),
        lambda: {"loc": torch.randn(B, N), "scale_tril": _tril(B)},
        lambda x: D.MultivariateNormal(x["loc"], scale_tril=x["scale_tril"]),
    ),
    c(
        "MultivariateNormal-constant",
        lambda: fam.MultivariateNormal(loc=torch.zeros(N), scale_tril=tril(), var=["x"]),
        None,
        lambda x: D.MultivariateNormal(torch.zeros(N), scale_tril=tril()),
    ),
    c(
        "LowRankMultivariateNormal",
        cond(fam.LowRankMultivariateNormal, ["loc", "cov_factor", "cov_diag"]),
        lambda: {
            "loc": torch.randn(B, N),
            "cov_factor": torch.randn(B, N, 2),
            "cov_diag": _rand(B, N, low=0.5),
        },
        lambda x: D.LowRankMultivariateNormal(x["loc"], x["cov_factor"], x["cov_diag"]),
    ),
    c(
        "RelaxedBernoulli",
        lambda: fam.RelaxedBernoulli(var=["x"], cond_var=["probs"], temperature=0.5, probs="probs"),
        lambda: {"probs": _rand(B, N, low=0.1, high=0.9)},
        lambda x: D.RelaxedBernoulli(torch.tensor(0.5), x["probs"]),
    ),
    c(
        "RelaxedOneHotCategorical",
        lambda: fam.RelaxedOneHotCategorical(var=["x"], cond_var=["probs"], temperature=0.7, probs="probs"),
        lambda: {"probs": F.softmax(torch.randn(B, K), -1)},
        lambda x: D.RelaxedOneHotCategorical(torch.tensor(0.7), x["probs"]),
    ),
    c(
        "FactorizedBernoulli",
        cond(fam.FactorizedBernoulli, ["probs"]),
        lambda: {"probs": _rand(B, N, low=0.1, high=0.9)},
        lambda x: Formula(
            lambda v: torch.where(v != 0, D.Bernoulli(x["probs"]).log_prob(v), 0.0),
            x["probs"],
            x["probs"] * (1 - x["probs"]),
        ),
    ),
    c(
        "MixtureModel-weights",
        lambda: fam.MixtureModel(_mixture_components(), [0.2, 0.5, 0.3]),
        None,
        lambda x: _mixture_reference(),
    ),
    c(
        "MixtureModel-prior",
        lambda: fam.MixtureModel(
            _mixture_components(), fam.Categorical(probs="w", var=["k"], cond_var=["w"], name="pi")
        ),
        lambda: {"w": F.softmax(torch.randn(B, 3), -1)},
        lambda x: _mixture_reference(x["w"]),
    ),
    c(
        "PosteriorMixtureModel",
        lambda: fam.MixtureModel(_mixture_components(), [0.2, 0.5, 0.3]).posterior(),
        lambda: {"x": torch.randn(B, 2) * 2},
        _posterior_reference,
    ),
    c(
        "MixtureOfNormal",
        lambda: fam.MixtureOfNormal(_gauss_experts(), [0.3, 0.7]),
        _expert_inputs,
        lambda x: D.MixtureSameFamily(
            D.Categorical(torch.tensor([0.3, 0.7])),
            D.Independent(D.Normal(torch.stack([x["x"], x["y"]], 1), torch.stack([x["sx"], x["sy"]], 1)), 1),
        ),
    ),
    c(
        "MixtureOfExperts",
        lambda: fam.MixtureOfExperts(
            [
                fam.Laplace(loc="x", scale=1.0, var=["z"], cond_var=["x"]),
                fam.Normal(loc="y", scale=0.5, var=["z"], cond_var=["y"]),
            ]
        ),
        lambda: {"x": torch.randn(B, N), "y": torch.randn(B, N)},
        lambda x: Formula(
            lambda v: (
                torch.logsumexp(
                    torch.stack(
                        [
                            D.Laplace(x["x"], 1.0).log_prob(v).sum(-1),
                            D.Normal(x["y"], 0.5).log_prob(v).sum(-1),
                        ]
                    ),
                    0,
                )
                + math.log(0.5)
            )
        ),
    ),
    c(
        "ProductOfNormal",
        lambda: fam.ProductOfNormal(_gauss_experts()),
        _expert_inputs,
        lambda x: product_reference(torch.stack([x["x"], x["y"]]), torch.stack([x["sx"], x["sy"]])),
    ),
    c(
        "ProductOfNormal-one-missing",
        lambda: fam.ProductOfNormal(_gauss_experts()),
        lambda: {"x": torch.randn(B, N), "sx": _rand(B, N, low=0.5)},
        lambda x: product_reference(x["x"][None], x["sx"][None]),
    ),
    c(
        "ProductOfNormal-prior-only",
        lambda: fam.ProductOfNormal(_gauss_experts(), features_shape=[N]),
        None,
        lambda x: D.Normal(torch.zeros(N), torch.ones(N)),
    ),
    c(
        "ProductOfNormal-mask",
        lambda: fam.ProductOfNormal(_gauss_experts(), mask_var="present"),
        lambda: {
            **_expert_inputs(),
            "present": torch.tensor([[1, 1], [1, 0], [0, 1], [0, 0]], dtype=torch.bool),
        },
        lambda x: product_reference(
            torch.stack([x["x"], x["y"]]),
            torch.stack([x["sx"], x["sy"]]),
            x["present"].T.unsqueeze(-1).expand(2, B, N),
        ),
    ),
    c(
        "ElementWiseProductOfNormal",
        lambda: fam.ElementWiseProductOfNormal(AttributeExpert()),
        lambda: {"a": torch.randn(B, 4) * (torch.rand(B, 4) > 0.4)},
        _elementwise_reference,
    ),
]


@parametrize(CASES)
def test_family_conformance(case):
    report = case.check()
    assert "shapes" in report.passed and "state_dict" in report.passed


@pytest.mark.cuda
@parametrize(CASES)
def test_family_conformance_on_cuda(case):
    """The same table with every tensor on the GPU (torch's default device set to CUDA)."""
    torch.set_default_device("cuda")
    try:
        report = case.check()
    finally:
        torch.set_default_device(None)
    assert "shapes" in report.passed and "state_dict" in report.passed


def test_every_family_has_a_case():
    """The table covers every class the plugin registers."""
    built = {type(case.build()) for case in CASES}
    missing = [cls.__name__ for cls in fam.FAMILIES if not any(issubclass(b, cls) for b in built)]
    assert not missing
