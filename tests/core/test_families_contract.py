"""Every test family against ``torch.distributions``, as constants, inputs and forward.

One table of cases; each case builds the same distribution three ways (constant
parameters, parameters named as conditioning variables, parameters returned by
``forward``) and checks log-probs, entropies, means, variances, parameters and
sample shapes against the ``torch.distributions`` object built by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import NoDensityError
from tests.core.families import (
    Bernoulli,
    Beta,
    Categorical,
    Dirichlet,
    Gamma,
    Laplace,
    MultivariateNormal,
    Normal,
    Poisson,
)

B = 5  # batch size of the conditional cases


@dataclass
class Case:
    id: str
    cls: type[ParametricDistribution]
    make: Callable[[], dict[str, torch.Tensor]]  # unbatched parameters (one set per feature)

    def __str__(self) -> str:
        return self.id


def _tril(n: int) -> torch.Tensor:
    a = torch.randn(n, n)
    return torch.linalg.cholesky(a @ a.T + n * torch.eye(n))


CASES = [
    Case("normal", Normal, lambda: {"loc": torch.randn(3), "scale": torch.rand(3) + 0.5}),
    Case("normal-2d", Normal, lambda: {"loc": torch.randn(2, 3), "scale": torch.rand(2, 3) + 0.5}),
    Case("laplace", Laplace, lambda: {"loc": torch.randn(4), "scale": torch.rand(4) + 0.5}),
    Case("bernoulli-probs", Bernoulli, lambda: {"probs": torch.rand(3) * 0.8 + 0.1}),
    Case("bernoulli-logits", Bernoulli, lambda: {"logits": torch.randn(3)}),
    Case("categorical", Categorical, lambda: {"probs": torch.softmax(torch.randn(4), -1)}),
    Case("categorical-2", Categorical, lambda: {"logits": torch.randn(2, 4)}),
    Case("gamma", Gamma, lambda: {"concentration": torch.rand(3) + 1.0, "rate": torch.rand(3) + 0.5}),
    Case("beta", Beta, lambda: {"concentration1": torch.rand(3) + 1, "concentration0": torch.rand(3) + 1}),
    Case("poisson", Poisson, lambda: {"rate": torch.rand(3) * 4 + 0.5}),
    Case("dirichlet", Dirichlet, lambda: {"concentration": torch.rand(4) + 0.5}),
    Case("mvn", MultivariateNormal, lambda: {"loc": torch.randn(3), "scale_tril": _tril(3)}),
]

def _batched(case: Case, params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Give every parameter its own values per batch element (B leading rows)."""
    out = {}
    for k, v in params.items():
        noise = 1.0 + 0.1 * torch.rand(B, *v.shape)
        if case.cls is MultivariateNormal and k == "scale_tril":
            noise = torch.ones(B, *v.shape)
        if case.cls in (Categorical, Dirichlet) and k == "probs":
            w = v * noise
            out[k] = w / w.sum(-1, keepdim=True)
            continue
        if k == "probs":
            out[k] = (v * noise).clamp(0.05, 0.95)
            continue
        out[k] = v * noise
    return out


def _has_entropy(td: torch.distributions.Distribution) -> bool:
    try:
        td.entropy()
    except NotImplementedError:
        return False
    return True


def _reduce(case: Case, td: torch.distributions.Distribution, lp: torch.Tensor, lead: int) -> torch.Tensor:
    """Sum the reference log-prob over the feature dims (batch dims of td after ``lead``)."""
    n = len(td.batch_shape) - lead
    return lp.sum(dim=tuple(range(-n, 0))) if n > 0 else lp


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


# --- constants -----------------------------------------------------------------------


def test_constant_features_shape_and_sample_shape(case: Case) -> None:
    params = case.make()
    td = case.cls.family(**params)
    p = case.cls(var=["x"], **params)
    assert p.features_shape == td.batch_shape + td.event_shape
    assert p.sample()["x"].shape == (1, *p.features_shape)
    assert p.sample(batch_n=7)["x"].shape == (7, *p.features_shape)
    assert p.sample(batch_n=7, sample_shape=(2, 3))["x"].shape == (2, 3, 7, *p.features_shape)


def test_constant_log_prob_matches_torch(case: Case) -> None:
    params = case.make()
    td = case.cls.family(**params)
    p = case.cls(var=["x"], **params)
    x = td.sample((B,))
    expected = _reduce(case, td, td.log_prob(x), 0)
    got = p.get_log_prob({"x": x})
    assert got.shape == (B,)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(p.get_log_prob({"x": x}, sum_features=False), td.log_prob(x))
    # log_prob of samples drawn by p itself
    s = p.sample(batch_n=B)["x"]
    torch.testing.assert_close(p.get_log_prob({"x": s}), _reduce(case, td, td.log_prob(s), 0))


def test_constant_entropy_mean_variance_params(case: Case) -> None:
    params = case.make()
    td = case.cls.family(**params)
    p = case.cls(var=["x"], **params)
    if _has_entropy(td):
        torch.testing.assert_close(p.get_entropy(), td.entropy().sum())
        torch.testing.assert_close(p.get_entropy(sum_features=False), td.entropy())
    else:
        with pytest.raises(NoDensityError, match=r"p\(x\).*no closed-form entropy.*analytical=False"):
            p.get_entropy()
    torch.testing.assert_close(p.sample_mean(), td.mean, equal_nan=True)
    torch.testing.assert_close(p.sample_variance(), td.variance, equal_nan=True)
    got = p.get_params()
    assert set(got) == set(params)
    for k in params:
        torch.testing.assert_close(got[k], params[k])


# --- parameters named as conditioning variables ------------------------------------------


def test_cond_var_parameters_match_torch(case: Case) -> None:
    params = _batched(case, case.make())
    names = {k: f"in_{k}" for k in params}
    p = case.cls(var=["x"], cond_var=list(names.values()), **names)
    inputs = {names[k]: v for k, v in params.items()}
    td = case.cls.family(**params)
    s = p.sample(inputs)
    assert s["x"].shape == td.batch_shape + td.event_shape  # batch from the inputs
    assert all(s[k] is v for k, v in inputs.items())  # return_all keeps the inputs
    x = td.sample()
    got = p.get_log_prob({**inputs, "x": x})
    assert got.shape == (B,)
    torch.testing.assert_close(got, _reduce(case, td, td.log_prob(x), 1))
    if _has_entropy(td):
        torch.testing.assert_close(p.get_entropy(inputs), _reduce(case, td, td.entropy(), 1))
    torch.testing.assert_close(p.sample_mean(inputs), td.mean, equal_nan=True)
    torch.testing.assert_close(p.sample_variance(inputs), td.variance, equal_nan=True)


def test_cond_var_parameters_with_sample_dims(case: Case) -> None:
    params = _batched(case, case.make())
    names = {k: f"in_{k}" for k in params}
    p = case.cls(var=["x"], cond_var=list(names.values()), **names)
    inputs = {names[k]: v for k, v in params.items()}
    td = case.cls.family(**params)
    x = p.sample(inputs, sample_shape=(3,), return_all=False)["x"]
    assert x.shape == (3, *td.batch_shape, *td.event_shape)
    got = p.get_log_prob({**inputs, "x": x})
    assert got.shape == (3, B)
    torch.testing.assert_close(got, _reduce(case, td, td.log_prob(x), 1))


# --- parameters from forward (a network-defined distribution) ------------------------------


def _network_family(case: Case, params: dict[str, torch.Tensor]) -> ParametricDistribution:
    """A Pixyz-style distribution whose forward maps an input to ``params`` row by row."""

    class Net(case.cls):  # type: ignore[name-defined,misc,valid-type]
        def __init__(self) -> None:
            super().__init__(var=["x"], cond_var=["h"], name="q")
            self.table = {k: v for k, v in params.items()}

        def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
            idx = h.long()[..., 0]
            return {k: v[idx] for k, v in self.table.items()}

    return Net()


def test_forward_parameters_match_torch(case: Case) -> None:
    params = _batched(case, case.make())
    p = _network_family(case, params)
    h = torch.arange(B, dtype=torch.float).unsqueeze(-1)
    td = case.cls.family(**params)
    assert p.sample({"h": h})["x"].shape == td.batch_shape + td.event_shape
    x = td.sample()
    torch.testing.assert_close(p.get_log_prob({"h": h, "x": x}), _reduce(case, td, td.log_prob(x), 1))
    torch.testing.assert_close(p.sample_mean({"h": h}), td.mean, equal_nan=True)
    got = p.get_params({"h": h})
    for k in params:
        torch.testing.assert_close(got[k], params[k])
    # a permutation of the inputs permutes the parameters: forward really receives h
    perm = torch.tensor([4, 2, 0, 1, 3])
    torch.testing.assert_close(p.sample_mean({"h": h[perm]}), td.mean[perm], equal_nan=True)


# --- sampling draws from the right distribution (Monte-Carlo) -------------------------------


MOMENT_CASES = [c for c in CASES if c.id in ("normal", "bernoulli-logits", "gamma", "poisson")]


@pytest.mark.parametrize("c", MOMENT_CASES, ids=str)
def test_samples_have_the_reference_moments(c: Case) -> None:
    params = c.make()
    p = c.cls(var=["x"], **params)
    td = c.cls.family(**params)
    n = 20000
    x = p.sample(batch_n=n)["x"].double()
    mean, var = td.mean.double(), td.variance.double()
    se = (var / n).sqrt()
    assert ((x.mean(0) - mean).abs() < 6 * se + 1e-6).all()
    # the sample variance's standard error: sqrt((mu_4 - sigma^4) / n), mu_4 the fourth central moment
    mu4 = ((x - mean) ** 4).mean(0)
    se_var = ((mu4 - var**2).clamp_min(0) / n).sqrt()
    assert ((x.var(0) - var).abs() < 6 * se_var + 1e-6).all(), (x.var(0), var, se_var)


# --- reparameterisation -----------------------------------------------------------------------


def test_reparam_gives_gradients_and_plain_sampling_does_not() -> None:
    loc = nn.Parameter(torch.zeros(3))
    scale = nn.Parameter(torch.ones(3))
    p = Normal(var=["z"], loc=loc, scale=scale)
    z = p.sample(batch_n=4, reparam=True)["z"]
    assert z.requires_grad
    z.sum().backward()
    torch.testing.assert_close(loc.grad, torch.full((3,), 4.0))
    assert scale.grad is not None and scale.grad.abs().sum() > 0
    assert not p.sample(batch_n=4)["z"].requires_grad
    assert p.has_reparam and not Bernoulli(var=["b"], probs=0.5).has_reparam


def test_reparam_of_a_discrete_family_is_a_clear_error() -> None:
    from dgmcore.errors import DGMError

    with pytest.raises(DGMError, match=r"p\(b\).*reparam"):
        Bernoulli(var=["b"], probs=torch.full((2,), 0.5)).sample(reparam=True)
