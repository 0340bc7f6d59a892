"""One regression test per Pixyz bug the families fix, each against an independent reference."""

from __future__ import annotations

import math

import dgmcore_families as fam
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dgmcore.errors import ParameterError, ShapeError
from dgmcore.losses import KullbackLeibler
from dgmcore.testing import check_distribution

D = torch.distributions


def test_categorical_scores_integer_labels_and_one_hot_alike():
    """Pixyz's Categorical could not score integer labels (it expected one-hot vectors)."""
    probs = F.softmax(torch.randn(6, 2, 4), -1)  # batch 6, two independent labels, 4 classes
    p = fam.Categorical(probs="pi", var=["y"], cond_var=["pi"])
    labels = torch.randint(0, 4, (6, 2))
    expected = probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1).log().sum(-1)
    from_labels = p.get_log_prob({"y": labels, "pi": probs})
    from_one_hot = p.get_log_prob({"y": F.one_hot(labels, 4).float(), "pi": probs})
    torch.testing.assert_close(from_labels, expected)
    torch.testing.assert_close(from_one_hot, expected)
    # and with sample dimensions in front of the batch
    many = torch.randint(0, 4, (3, 6, 2))
    torch.testing.assert_close(
        p.get_log_prob({"y": F.one_hot(many, 4).float(), "pi": probs}),
        p.get_log_prob({"y": many, "pi": probs}),
    )
    # the one-hot family scores labels too
    q = fam.OneHotCategorical(probs="pi", var=["y"], cond_var=["pi"])
    torch.testing.assert_close(q.get_log_prob({"y": labels, "pi": probs}), expected)
    torch.testing.assert_close(
        q.get_log_prob({"y": F.one_hot(labels, 4), "pi": probs}), expected
    )  # int one-hot


def test_multinomial_honours_total_count():
    """Pixyz's Multinomial accepted total_count and ignored it (every sample summed to 1)."""
    probs = torch.tensor([0.1, 0.2, 0.7])
    p = fam.Multinomial(total_count=12, probs=probs, var=["n"])
    draws = p.sample(batch_n=500)["n"]
    assert bool((draws.sum(-1) == 12).all())
    torch.testing.assert_close(p.sample_mean(), 12 * probs)
    counts = torch.tensor([[1.0, 3.0, 8.0]])
    exact = math.lgamma(13) - sum(math.lgamma(c + 1) for c in (1, 3, 8)) + float((counts * probs.log()).sum())
    torch.testing.assert_close(p.get_log_prob({"n": counts}), torch.tensor([exact]))
    check_distribution(p, reference=D.Multinomial(12, probs), n_samples=2000)


def test_relaxed_categorical_scores_with_its_own_density():
    """Pixyz's RelaxedCategorical scored its samples with a Bernoulli likelihood."""
    pi, tau = torch.tensor([0.2, 0.3, 0.5]), 0.4
    p = fam.RelaxedOneHotCategorical(temperature=tau, probs=pi, var=["y"])
    y = p.sample(batch_n=5)["y"]
    k = 3  # the concrete density (Maddison et al. 2017, eq. 9), written out
    log_density = (
        math.lgamma(k)
        + (k - 1) * math.log(tau)
        + (pi.log() - (tau + 1) * y.log()).sum(-1)
        - k * torch.logsumexp(pi.log() - tau * y.log(), -1)
    )
    torch.testing.assert_close(p.get_log_prob({"y": y}), log_density)
    bernoulli_score = (y * pi.log() + (1 - y) * (1 - pi).log()).sum(-1)
    assert not torch.allclose(p.get_log_prob({"y": y}), bernoulli_score)
    b = fam.RelaxedBernoulli(temperature=tau, probs=torch.tensor([0.3]), var=["b"])
    v = torch.tensor([[0.25]])
    torch.testing.assert_close(
        b.get_log_prob({"b": v}), D.RelaxedBernoulli(torch.tensor(tau), 0.3).log_prob(v)[:, 0]
    )


def test_mixture_of_experts_density_is_a_mixture_density():
    """Pixyz's MoE summed weighted log-densities (logsumexp of w * log q), which is not a density."""
    q_x = fam.Normal(loc="x", scale=0.5, var=["z"], cond_var=["x"], name="q")
    q_y = fam.Normal(loc="y", scale=2.0, var=["z"], cond_var=["y"], name="q")
    moe = fam.MixtureOfNormal([q_x, q_y], weight_modalities=[0.25, 0.75])
    grid = torch.linspace(-15, 15, 6001).reshape(-1, 1)
    inputs = {"x": torch.full((6001, 1), -1.0), "y": torch.full((6001, 1), 2.0), "z": grid}
    density = moe.get_log_prob(inputs).exp()
    expected = (
        0.25 * D.Normal(-1.0, 0.5).log_prob(grid).exp() + 0.75 * D.Normal(2.0, 2.0).log_prob(grid).exp()
    )
    torch.testing.assert_close(density, expected[:, 0])
    integral = torch.trapezoid(density, grid[:, 0])
    assert abs(integral.item() - 1.0) < 1e-4


def test_product_of_normal_can_be_sampled_and_scored_with_batch_n():
    """Pixyz's PoE could not be scored, and with no expert present could not be sampled with batch_n."""
    experts = [
        fam.Normal(loc=v, scale=s, var=["z"], cond_var=[v], name="q") for v, s in (("x", 0.5), ("y", 2.0))
    ]
    poe = fam.ProductOfNormal(experts, features_shape=[2])
    prior_only = poe.sample(batch_n=7)["z"]
    assert prior_only.shape == (7, 2)
    torch.testing.assert_close(
        poe.get_log_prob({"z": prior_only}), D.Normal(0.0, 1.0).log_prob(prior_only).sum(-1)
    )
    x, y = torch.randn(7, 2), torch.randn(7, 2)
    z = poe.sample({"x": x, "y": y})["z"]
    precision = 1 + 0.5**-2 + 2.0**-2  # precisions add: 1/sigma^2, not 1/sigma as in Pixyz
    loc = (0.5**-2 * x + 2.0**-2 * y) / precision
    torch.testing.assert_close(
        poe.get_log_prob({"x": x, "y": y, "z": z}), D.Normal(loc, precision**-0.5).log_prob(z).sum(-1)
    )


def test_elementwise_product_of_normal_is_usable_in_a_vae_objective():
    """Pixyz's ElementWiseProductOfNormal failed when used; here it trains like any encoder."""

    class Encoder(fam.Normal):
        def __init__(self):
            super().__init__(var=["z"], cond_var=["a"], name="q")
            self.net = nn.Linear(5, 4)

        def forward(self, a):
            loc, raw = self.net(a).chunk(2, -1)
            return {"loc": loc, "scale": F.softplus(raw) + 0.1}

    encoder = Encoder()
    q = fam.ElementWiseProductOfNormal(encoder, name="q")
    prior = fam.Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_prior")
    decoder = fam.Bernoulli(logits="z", var=["x"], cond_var=["z"])
    a = torch.tensor([[1.0, 0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0], [0.5, 1.0, 1.0, 1.0, 1.0]])
    loss = (KullbackLeibler(q, prior) - decoder.log_prob().expectation(q)).mean()
    value = loss.eval({"a": a, "x": torch.ones(3, 2)})
    value.backward()
    assert torch.isfinite(value) and encoder.net.weight.grad is not None
    # the second row has no expert: the product is the prior
    params = q.get_params({"a": a})
    torch.testing.assert_close(params["loc"][1], torch.zeros(2))
    torch.testing.assert_close(params["scale"][1], torch.ones(2))
    # the first row: the prior times the experts of elements 0 and 2, computed one by one
    one = [encoder.get_params({"a": a[:1] * F.one_hot(torch.tensor(i), 5)}) for i in (0, 2)]
    prec = [1.0] + [e["scale"][0] ** -2 for e in one]
    loc = sum(p * e["loc"][0] for p, e in zip(prec[1:], one, strict=True)) / sum(prec)
    torch.testing.assert_close(params["loc"][0], loc)
    assert q.sample({"a": a}, sample_shape=(4,), reparam=True)["z"].shape == (4, 3, 2)


def test_categorical_float_labels_are_not_read_as_one_hot():
    """A float tensor shaped like labels (no trailing K) was scored as one one-hot vector."""
    p = fam.Categorical(probs=torch.ones(3) / 3, var=["y"])
    with pytest.raises(ShapeError, match=r"looks like class labels.*\.long\(\)"):
        p.get_log_prob({"y": torch.tensor([0.0, 2.0, 1.0])})
    q = fam.Categorical(probs="pi", var=["y"], cond_var=["pi"])
    pi = F.softmax(torch.randn(3, 3), -1)
    with pytest.raises(ShapeError, match=r"\.long\(\)"):
        q.get_log_prob({"pi": pi, "y": torch.tensor([0.0, 2.0, 1.0])})
    labels = torch.tensor([0, 2, 1])
    expected = D.Categorical(pi).log_prob(labels)
    torch.testing.assert_close(q.get_log_prob({"pi": pi, "y": labels}), expected)
    torch.testing.assert_close(q.get_log_prob({"pi": pi, "y": F.one_hot(labels, 3).float()}), expected)


@pytest.mark.parametrize("conditioned", [False, True])
def test_bernoulli_validate_args_rejects_targets_outside_the_unit_interval(conditioned):
    """Unchecked by default (hot path); with validate_args=True an error naming the variable."""
    x = torch.tensor([[0.5, 2.0]])
    if conditioned:
        p = fam.Bernoulli(probs="mu", var=["x"], cond_var=["mu"], validate_args=True)
        given = {"mu": torch.full((1, 2), 0.5), "x": x}
    else:
        p = fam.Bernoulli(probs=0.5, var=["x"], features_shape=[2], validate_args=True)
        given = {"x": x}
    with pytest.raises(ShapeError, match=r"values of 'x' must lie in \[0, 1\]"):
        p.get_log_prob(given)
    p.validate_args = False
    # given probs, torch's loss checks the targets in its kernel: still the named error
    with pytest.raises(ShapeError, match=r"values of 'x' must lie in \[0, 1\]"):
        p.get_log_prob(given)
    if conditioned:
        q = fam.Bernoulli(logits="mu", var=["x"], cond_var=["mu"])
        given = {"mu": torch.zeros(1, 2), "x": x}
    else:
        q = fam.Bernoulli(logits=0.0, var=["x"], features_shape=[2])
    assert torch.isfinite(q.get_log_prob(given)).all()  # given logits, not checked: a meaningless score


@pytest.mark.parametrize("probs", [torch.tensor([[0.5, 1.5]]), torch.tensor([[-0.1, 0.5]])])
def test_bernoulli_probs_outside_the_unit_interval_is_a_named_error(probs):
    p = fam.Bernoulli(probs="mu", var=["x"], cond_var=["mu"])
    with pytest.raises(ParameterError, match=r"probs must lie in \[0, 1\]"):
        p.get_log_prob({"mu": probs, "x": torch.ones(1, 2)})


def test_bernoulli_probs_scored_as_torch_loss_and_distribution():
    """Given probs, the score is F.binary_cross_entropy's; equal to torch's Bernoulli(probs)
    away from 0 and 1, with gradients to the probs."""
    torch.manual_seed(0)
    probs = torch.rand(5, 7).clamp(0.01, 0.99).requires_grad_()
    x = torch.bernoulli(torch.full((5, 7), 0.5))
    p = fam.Bernoulli(probs="mu", var=["x"], cond_var=["mu"])
    lp = p.get_log_prob({"mu": probs, "x": x})
    ref = torch.distributions.Bernoulli(probs=probs).log_prob(x).sum(-1)
    torch.testing.assert_close(lp, ref)
    torch.testing.assert_close(lp, -F.binary_cross_entropy(probs, x, reduction="none").sum(-1))
    (g,) = torch.autograd.grad(lp.sum(), probs)
    (g_ref,) = torch.autograd.grad(ref.sum(), probs)
    torch.testing.assert_close(g, g_ref)
    # at 0 and 1 exactly: torch's loss bounds each log by -100 (finite), no NaN
    edge = p.get_log_prob({"mu": torch.tensor([[0.0, 1.0]]), "x": torch.tensor([[1.0, 0.0]])})
    torch.testing.assert_close(edge, torch.tensor([-200.0]))
