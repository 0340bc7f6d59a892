"""The categorical and relaxed families' defects found from outside (D4-D6, D10, R17, R25, R26, R29).

References: the concrete density as written by Maddison et al. (2017, eq. 9) and
Jang et al. (2017, eq. 2), evaluated here in float64 from the logits; numerical
integration over the simplex; torch where torch is finite; Pixyz 0.3.3 itself
for ``RelaxedCategorical``.
"""

from __future__ import annotations

import math

import dgmcore_families as fam
import pytest
import torch

from dgmcore.errors import DGMError, InputTypeError, NoDensityError, ParameterError, ValueRangeError

D = torch.distributions
PROBS = torch.tensor([[0.2, 0.3, 0.5]])


def concrete_log_density(log_p: torch.Tensor, tau: float, y: torch.Tensor) -> torch.Tensor:
    """log p(y) = log (K-1)! + (K-1) log tau + sum_k log p_k - (tau+1) sum_k log y_k
    - K log sum_k p_k y_k^(-tau), written out term by term in float64."""
    log_p, y = log_p.double(), y.double()
    k = y.shape[-1]
    log_p = log_p - torch.logsumexp(log_p, -1, keepdim=True)
    terms = math.lgamma(k) + (k - 1) * math.log(tau) + log_p.sum(-1) - (tau + 1) * y.log().sum(-1)
    return terms - k * torch.logsumexp(log_p - tau * y.log(), -1)


# -- D4: a Categorical's labels have no mean ------------------------------------------------
@pytest.mark.parametrize("moment", ["sample_mean", "sample_variance"])
def test_categorical_moments_are_a_typed_error_not_nan(moment):
    p = fam.Categorical(probs=PROBS, var=["y"])
    with pytest.raises(
        NoDensityError, match=r"p\(y\) \(Categorical\) samples class labels.*OneHotCategorical"
    ):
        getattr(p, moment)()
    torch.testing.assert_close(fam.OneHotCategorical(probs=PROBS, var=["y"]).sample_mean(), PROBS)


# -- D5: the relaxed families' moments ------------------------------------------------------
@pytest.mark.parametrize("family", [fam.RelaxedBernoulli, fam.RelaxedOneHotCategorical])
@pytest.mark.parametrize("moment", ["sample_mean", "sample_variance"])
def test_relaxed_moments_are_a_typed_error_naming_the_distribution(family, moment):
    p = family(probs=PROBS, var=["y"], name="f")
    with pytest.raises(NoDensityError, match=rf"f\(y\) \({family.__name__}\) has no closed-form") as info:
        getattr(p, moment)()
    assert isinstance(info.value, DGMError) and str(info.value)


# -- D6: a one-hot value on the relaxed simplex ---------------------------------------------
def test_a_one_hot_value_is_outside_the_concrete_support():
    p = fam.RelaxedOneHotCategorical(probs=PROBS, var=["y"])
    with pytest.raises(ValueRangeError, match="boundary of the open simplex.*OneHotCategorical"):
        p.get_log_prob({"y": torch.tensor([[0.0, 0.0, 1.0]])})


def test_relaxed_categorical_scores_and_summarises_as_pixyz():
    pixyz = pytest.importorskip("pixyz.distributions")
    ours = fam.RelaxedCategorical(probs=PROBS, var=["y"])
    theirs = pixyz.RelaxedCategorical(probs=PROBS, var=["y"])
    for y in ([[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]], [[0.1, 0.2, 0.7]]):
        value = torch.tensor(y)
        torch.testing.assert_close(
            ours.get_log_prob({"y": value}).reshape(1), theirs.get_log_prob({"y": value}).reshape(1)
        )
    torch.testing.assert_close(ours.sample_mean(), theirs.sample_mean().reshape(PROBS.shape))
    torch.testing.assert_close(ours.sample_variance(), theirs.sample_variance().reshape(PROBS.shape))
    assert ours.get_dist().temperature == pytest.approx(0.1)  # Pixyz's default


def test_relaxed_categorical_samples_relaxed_and_reparameterised():
    logits = torch.randn(64, 4, requires_grad=True)
    f = fam.RelaxedCategorical(logits="l", var=["y"], cond_var=["l"])
    y = f.sample({"l": logits}, reparam=True)["y"]
    assert ((y > 0) & (y <= 1)).all() and torch.allclose(y.sum(-1), torch.ones(64))
    assert not torch.isin(y, torch.tensor([0.0, 1.0])).all(-1).any()  # not one-hot: relaxed
    (y * torch.randn(4)).sum().backward()
    assert torch.isfinite(logits.grad).all() and (logits.grad != 0).any()


# -- D10: the density of its own samples stays finite, and is the written formula -----------
def test_the_default_temperature_is_safe():
    assert fam.RelaxedOneHotCategorical(probs=PROBS, var=["y"]).get_dist().temperature == 0.5


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_own_reparameterised_samples_have_finite_densities_and_gradients(tau):
    torch.manual_seed(0)
    d = fam.RelaxedOneHotCategorical(temperature=tau, logits="l", var=["y"], cond_var=["l"])
    for _ in range(20):
        logits = (torch.randn(128, 10) * 2).requires_grad_()
        y = d.sample({"l": logits}, reparam=True)["y"]
        lp = d.get_log_prob({"l": logits, "y": y})
        (grad,) = torch.autograd.grad(lp.sum(), logits)
        assert torch.isfinite(lp).all() and torch.isfinite(grad).all()
        # torch's own class fails on these same samples at tau=0.1 (NaN: log 0); ours is the formula
        torch.testing.assert_close(lp.double(), concrete_log_density(logits, tau, y), rtol=1e-4, atol=1e-3)


def test_torch_is_matched_where_torch_is_finite():
    torch.manual_seed(1)
    logits = torch.randn(32, 5)
    reference = D.RelaxedOneHotCategorical(torch.tensor(0.7), logits=logits)
    y = reference.sample()
    d = fam.RelaxedOneHotCategorical(temperature=0.7, logits="l", var=["y"], cond_var=["l"])
    torch.testing.assert_close(
        d.get_log_prob({"l": logits, "y": y}), reference.log_prob(y), rtol=1e-5, atol=1e-4
    )


@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_the_two_class_density_integrates_to_one(tau):
    """Over the simplex {(t, 1 - t)}, with respect to dt (Maddison et al.); integrated in u = logit t."""
    u = torch.linspace(-80, 80, 200_001, dtype=torch.float64)
    y = torch.stack([torch.sigmoid(u), torch.sigmoid(-u)], -1)
    probs = torch.tensor([0.3, 0.7], dtype=torch.float64)
    d = fam.RelaxedOneHotCategorical(temperature=tau, probs=probs, var=["y"])
    density_du = (d.get_log_prob({"y": y}) + y.log().sum(-1)).exp()  # dt = t (1 - t) du
    assert float(torch.trapezoid(density_du, u)) == pytest.approx(1.0, abs=1e-6)


# -- R17: the temperature must be positive --------------------------------------------------
@pytest.mark.parametrize(
    "family", [fam.RelaxedBernoulli, fam.RelaxedOneHotCategorical, fam.RelaxedCategorical]
)
@pytest.mark.parametrize("tau", [-1.0, 0.0, -0.0])
def test_a_temperature_that_is_not_positive_is_rejected(family, tau):
    with pytest.raises(ParameterError, match="parameter temperature must be a float > 0"):
        family(temperature=tau, probs=torch.tensor([0.3, 0.7]), var=["b"])
    with pytest.raises(ParameterError, match=r"p\(b\|q\).*temperature"):
        family(temperature=tau, probs="q", var=["b"], cond_var=["q"])


def test_a_temperature_from_an_input_is_checked_when_validating():
    p = fam.RelaxedBernoulli(temperature="t", probs=0.3, var=["b"], cond_var=["t"], validate_args=True)
    with pytest.raises(ParameterError, match="temperature"):
        p.sample({"t": -torch.ones(2, 1)})


# -- R25, R26, R29: messages and validation --------------------------------------------------
def test_an_integer_value_of_a_relaxed_family_is_a_typed_error():
    p = fam.RelaxedBernoulli(probs=torch.tensor([0.3]), var=["b"])
    with pytest.raises(InputTypeError, match="'b' must be a floating-point tensor.*int64"):
        p.get_log_prob({"b": torch.ones(2, 1, dtype=torch.long)})


def test_the_validated_one_hot_check_names_the_variable_and_the_sums():
    p = fam.OneHotCategorical(probs="p", var=["y"], cond_var=["p"], validate_args=True)
    with pytest.raises(ValueRangeError, match=r"'y' is read as one-hot.*sums from 0\.5 to 1"):
        p.get_log_prob({"p": torch.ones(2, 3) / 3, "y": torch.tensor([[0.5, 0.0, 0.0], [1.0, 0.0, 0.0]])})


@pytest.mark.parametrize("family", [fam.Categorical, fam.OneHotCategorical])
def test_all_negative_probs_are_rejected_when_validating(family):
    p = family(probs="p", var=["y"], cond_var=["p"], validate_args=True)
    with pytest.raises(ParameterError, match="parameter probs must be non-negative"):
        p.sample({"p": -torch.ones(2, 3)})
