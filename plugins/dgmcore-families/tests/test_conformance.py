"""Every family of the plugin through the conformance kit, against independent references.

References are ``torch.distributions`` objects built from the same inputs, or
closed forms written out here. The cases of the mixtures and products of experts
are in ``families_composite_cases.py``.
"""

from __future__ import annotations

import dgmcore_families as fam
import pytest
import torch
from families_composite_cases import CASES as COMPOSITE_CASES
from torch import nn
from torch.nn import functional as F

from dgmcore.testing import Case, Formula, parametrize

D = torch.distributions
B, N, K = 4, 3, 5  # batch, features, categories


def _rand(*shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    return low + (high - low) * torch.rand(*shape)


def _tril(*batch: int, d: int = N) -> torch.Tensor:
    m = torch.randn(*batch, d, d).tril(-1) * 0.5
    return m + torch.diag_embed(_rand(*batch, d, low=0.5, high=1.5))


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
        "RelaxedOneHotCategorical-default-temperature",
        lambda: fam.RelaxedOneHotCategorical(var=["x"], cond_var=["logits"], logits="logits"),
        lambda: {"logits": 2 * torch.randn(B, K)},
        lambda x: D.RelaxedOneHotCategorical(torch.tensor(0.5), logits=x["logits"]),
    ),
    c(
        "RelaxedCategorical",
        lambda: fam.RelaxedCategorical(var=["x"], cond_var=["probs"], probs="probs"),
        lambda: {"probs": F.softmax(torch.randn(B, K), -1)},
        lambda x: Formula(  # Pixyz's score: a Bernoulli likelihood per coordinate
            lambda v: D.Bernoulli(x["probs"], validate_args=False).log_prob(v).sum(-1),
            x["probs"],
            x["probs"] * (1 - x["probs"]),
        ),
        # its moments are those of the categorical it scores as, not of its relaxed samples;
        # the temperature shapes the samples only
        skip=["moments"],
        no_score_grad=["temperature"],
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
    *COMPOSITE_CASES,
]


def _assert_complete(case, report):
    """Shapes passed, and the state_dict round trip ran wherever there is a state to round trip."""
    assert "shapes" in report.passed
    state = {n for n, t in case.build().state_dict().items() if t.is_floating_point()}
    # a state the log-density does not read (declared with no_score_grad) cannot be checked by it
    checkable = bool(state - set(case.options.get("no_score_grad", ())))
    assert ("state_dict" in report.passed) == checkable, report.skipped


@parametrize(CASES)
def test_family_conformance(case):
    _assert_complete(case, case.check())


@pytest.mark.cuda
@parametrize(CASES)
def test_family_conformance_on_cuda(case):
    """The same table with every tensor on the GPU (torch's default device set to CUDA)."""
    torch.set_default_device("cuda")
    try:
        report = case.check()
    finally:
        torch.set_default_device(None)
    _assert_complete(case, report)


def test_every_family_has_a_case():
    """The table covers every class the plugin registers."""
    built = {type(case.build()) for case in CASES}
    missing = [cls.__name__ for cls in fam.FAMILIES if not any(issubclass(b, cls) for b in built)]
    assert not missing
