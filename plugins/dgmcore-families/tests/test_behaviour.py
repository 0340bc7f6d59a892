"""Documented behaviours of the families beyond the conformance kit, and their error messages."""

from __future__ import annotations

import dgmcore_families as fam
import pytest
import torch
from torch.nn import functional as F

from dgmcore.errors import DGMError, InputTypeError, ParameterError, ShapeError
from dgmcore.losses import ELBO, KullbackLeibler

D = torch.distributions


@pytest.mark.parametrize("validate_args", [False, True])
def test_bernoulli_scores_continuous_targets(validate_args):
    probs = torch.tensor([[0.2, 0.7, 0.9]])
    p = fam.Bernoulli(probs="mu", var=["x"], cond_var=["mu"], validate_args=validate_args)
    x = torch.tensor([[0.0, 0.25, 1.0]])
    expected = (x * probs.log() + (1 - x) * (1 - probs).log()).sum(-1)
    torch.testing.assert_close(p.get_log_prob({"x": x, "mu": probs}), expected)
    binary = torch.tensor([[0.0, 1.0, 1.0]])
    torch.testing.assert_close(
        p.get_log_prob({"x": binary.bool(), "mu": probs}), p.get_log_prob({"x": binary, "mu": probs})
    )


def test_bernoulli_rejects_values_outside_the_unit_interval_when_validating():
    p = fam.Bernoulli(probs=0.5, var=["x"], features_shape=[2], validate_args=True)
    with pytest.raises(ShapeError, match=r"\[0, 1\]"):
        p.get_log_prob({"x": torch.tensor([[0.5, 1.5]])})


def test_factorized_bernoulli_ignores_zeros_but_samples_as_bernoulli():
    p = fam.FactorizedBernoulli(probs=torch.tensor([0.9, 0.2, 0.6]), var=["a"])
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    torch.testing.assert_close(p.get_log_prob({"a": x}), torch.tensor([torch.log(torch.tensor(0.9)), 0.0]))
    torch.testing.assert_close(p.sample_mean(), torch.tensor([0.9, 0.2, 0.6]))


def test_categorical_one_hot_must_have_k_entries():
    p = fam.Categorical(probs=torch.tensor([0.5, 0.5]), var=["y"])
    with pytest.raises(ShapeError, match="one-hot vectors over 2 categories"):
        p.get_log_prob({"y": torch.zeros(4, 3)})


def test_categorical_soft_vectors_score_as_cross_entropy_with_gradient():
    logits = torch.randn(3, 4)
    p = fam.Categorical(logits="l", var=["y"], cond_var=["l"])
    soft = F.softmax(torch.randn(3, 4), -1).requires_grad_(True)
    lp = p.get_log_prob({"y": soft, "l": logits})
    torch.testing.assert_close(lp, (soft * F.log_softmax(logits, -1)).sum(-1))
    lp.sum().backward()
    assert soft.grad is not None


def test_categorical_constants_expand_to_features_shape():
    p = fam.Categorical(probs=torch.tensor([0.2, 0.8]), var=["y"], features_shape=[3])
    y = p.sample(batch_n=5)["y"]
    assert y.shape == (5, 3) and p.get_log_prob({"y": y}).shape == (5,)
    temperature = fam.RelaxedOneHotCategorical(
        temperature=0.5, probs=torch.tensor([0.2, 0.8]), var=["y"], features_shape=[3, 2]
    )
    assert temperature.get_log_prob(temperature.sample(batch_n=5)).shape == (5,)


def test_multinomial_rejects_a_bad_total_count():
    for bad in (0, 2.5, True, "3"):
        with pytest.raises(ParameterError, match="total_count"):
            fam.Multinomial(total_count=bad, probs=torch.tensor([0.5, 0.5]))
    assert "total_count=4" in repr(fam.Multinomial(4, probs=torch.tensor([0.5, 0.5])))


def test_multinomial_kl_is_infinite_across_total_counts():
    p = fam.Multinomial(3, probs=torch.tensor([0.5, 0.5]), var=["n"])
    q = fam.Multinomial(4, probs=torch.tensor([0.5, 0.5]), var=["n"], name="q")
    assert torch.isinf(KullbackLeibler(p, q).eval({}))


def test_product_of_normal_errors():
    q = fam.Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    with pytest.raises(InputTypeError, match="must be a Normal"):
        fam.ProductOfNormal([q, fam.Laplace(loc="y", scale=1.0, var=["z"], cond_var=["y"])])
    with pytest.raises(DGMError, match="no expert is present"):
        fam.ProductOfNormal([q], prior=False).sample({})
    with pytest.raises(DGMError, match="features_shape"):
        fam.ProductOfNormal([q]).sample(batch_n=3)
    masked = fam.ProductOfNormal([q], mask_var="m")
    with pytest.raises(ShapeError, match="mask 'm'"):
        masked.sample({"x": torch.zeros(2, 3), "m": torch.ones(2, 3, dtype=torch.bool)})


def test_product_of_normal_with_a_learned_prior_expert():
    prior = fam.Normal(loc=torch.nn.Parameter(torch.ones(2)), scale=2.0, var=["z"], name="p0")
    q = fam.Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    poe = fam.ProductOfNormal([q], prior=prior)
    params = poe.get_params({"x": torch.zeros(5, 2)})
    torch.testing.assert_close(params["loc"], torch.full((5, 2), 0.25 / 1.25))
    params["loc"].sum().backward()
    assert prior.loc.grad is not None


def test_mixture_posterior_and_hidden_samples():
    comps = [fam.Normal(loc=m, scale=0.3, var=["x"], features_shape=[1]) for m in (-3.0, 3.0)]
    mix = fam.MixtureModel(comps, prior=[0.5, 0.5])
    out = mix.sample(batch_n=400, return_hidden=True)
    sign = (out["x"][:, 0] > 0).long()
    assert torch.equal(sign, out["k"])  # the components are far apart
    post = mix.posterior()
    assert post.prob_text == "p(k|x)"
    torch.testing.assert_close(
        post.get_log_prob({"x": out["x"], "k": out["k"]}), torch.zeros(400), atol=1e-4, rtol=0
    )


def test_mixture_errors():
    a = fam.Normal(loc=0.0, scale=1.0, var=["x"])
    with pytest.raises(InputTypeError, match="generate"):
        fam.MixtureModel([a, fam.Normal(loc=0.0, scale=1.0, var=["y"])], prior=[0.5, 0.5])
    with pytest.raises(ShapeError, match="3 categories for 2 components"):
        fam.MixtureModel([a, a], prior=[0.2, 0.3, 0.5])
    with pytest.raises(InputTypeError, match="Categorical"):
        fam.MixtureModel([a, a], prior=a)
    learned = fam.MixtureModel([a, a], prior=fam.Categorical(probs=torch.tensor([0.5, 0.5]), var=["k"]))
    with pytest.raises(DGMError, match="reparam"):
        learned.sample(batch_n=2, reparam=True)
    with pytest.raises(DGMError, match="analytical=False"):
        learned.get_entropy()


def test_mixture_of_experts_in_an_elbo():
    """The MMVAE objective: an ELBO whose encoder is a mixture of unimodal experts."""
    q_x = fam.Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    q_y = fam.Normal(loc="y", scale=1.0, var=["z"], cond_var=["y"], name="q")
    q = fam.MixtureOfNormal([q_x, q_y])
    p = fam.Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"]) * fam.Normal(
        loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_z"
    )
    data = {"x": torch.randn(8, 2), "y": torch.randn(8, 2)}
    n = 20000
    value = ELBO(p, q, sample_shape=(n,)).eval(data)
    assert value.shape == (8,)
    # an independent Monte-Carlo estimate in plain torch: z ~ (N(x, 1) + N(y, 1)) / 2,
    # E[log N(x | z, 1) + log N(z | 0, 1) - log q(z | x, y)], summed over the 2 features
    pick = torch.rand(n, 8, 1) < 0.5
    z = torch.where(pick, data["x"], data["y"]) + torch.randn(n, 8, 2)
    N = torch.distributions.Normal
    log_q = torch.logsumexp(
        torch.stack([N(data["x"], 1.0).log_prob(z).sum(-1), N(data["y"], 1.0).log_prob(z).sum(-1)]), 0
    ) - torch.log(torch.tensor(2.0))
    terms = N(z, 1.0).log_prob(data["x"]).sum(-1) + N(0.0, 1.0).log_prob(z).sum(-1) - log_q
    se = terms.std(0) * (2 / n) ** 0.5  # both estimates have n samples
    assert ((value - terms.mean(0)).abs() < 6 * se).all(), (value, terms.mean(0), se)
