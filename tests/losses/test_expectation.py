"""Expectation: reparameterised, plain, and score-function gradients, against hand math."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from torch.distributions import Bernoulli as TBernoulli
from torch.distributions import Normal as TNormal

from dgmcore.distributions import extra_sample_dims
from dgmcore.errors import InputTypeError
from dgmcore.losses import Expectation, Parameter
from tests.families import Bernoulli, Categorical, Normal
from tests.losses.conftest import grads


def _encoder_params(q, x):
    h = q.fc2(torch.tanh(q.fc1(x)))
    return h[..., :2], nn.functional.softplus(h[..., 2:]) + 1e-3


def test_reparameterised_value_and_gradient_match_hand_math(vae):
    loss = Expectation(vae.q, vae.p.log_prob(), sample_shape=(4,))
    torch.manual_seed(11)
    value = loss.eval({"x": vae.x})
    value.sum().backward()
    got = grads([vae.q, vae.p])

    torch.manual_seed(11)
    loc, scale = _encoder_params(vae.q, vae.x)
    z = TNormal(loc, scale).rsample((4,))
    logits = vae.p.fc2(torch.tanh(vae.p.fc1(z)))
    ref = TBernoulli(logits=logits).log_prob(vae.x).sum(-1).mean(0)
    ref.sum().backward()
    want = grads([vae.q, vae.p])

    assert value.shape == (5,)
    torch.testing.assert_close(value, ref)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)
    assert any(g.abs().sum() > 0 for g in got[:4])  # gradient reaches the encoder


def test_reparam_false_blocks_the_gradient_through_samples(vae):
    loss = Expectation(vae.q, vae.p.log_prob(), reparam=False)
    torch.manual_seed(2)
    value = loss.eval({"x": vae.x})
    torch.manual_seed(2)
    reparam_value = Expectation(vae.q, vae.p.log_prob()).eval({"x": vae.x})
    torch.testing.assert_close(value, reparam_value)  # same draws, same value
    value.sum().backward()
    assert all(p.grad is None for p in vae.q.parameters())
    assert all(p.grad is not None for p in vae.p.parameters())


def test_sample_dims_are_averaged_out(vae):
    for shape in [(1,), (3,), (2, 3)]:
        loss = Expectation(vae.q, vae.p.log_prob(), sample_shape=shape)
        torch.manual_seed(5)
        value, out = loss.eval({"x": vae.x}, return_dict=True)
        assert value.shape == (5,)
        # one sample is drawn without a sample dim (the mean of one sample is that sample)
        assert out["z"].shape == ((5, 2) if shape == (1,) else (*shape, 5, 2))
        with extra_sample_dims(len(shape) if shape != (1,) else 0):  # outside the loss: declared
            by_hand = vae.p.log_prob().eval({"x": vae.x, "z": out["z"]})
        torch.testing.assert_close(value, by_hand.reshape(-1, 5).mean(0))
    assert Expectation(vae.q, vae.p.log_prob(), sample_shape=3).sample_shape == (3,)


def test_expectation_converges_to_the_closed_form():
    # E_{N(m, s)}[log N(x | z, 1)] = log N(x | m, 1) - s^2 / 2
    m, s = torch.tensor([[0.3, -1.0]]), torch.tensor([[0.5, 2.0]])
    q = Normal(loc=m, scale=s, var=["z"])
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    x = torch.tensor([[1.0, 0.5]])
    exact = (TNormal(m, 1.0).log_prob(x) - s**2 / 2).sum(-1)
    torch.manual_seed(0)
    n = 20000
    est = Expectation(q, p.log_prob(), sample_shape=(n,)).eval({"x": x})
    # the per-sample standard deviation of log N(x | z, 1) is below 3 here
    assert (est - exact).abs().item() < 5 * 3 / n**0.5


class _Coins(Bernoulli):
    """Three independent coins with learned logits."""

    def __init__(self, logits):
        super().__init__(var=["z"], logits=nn.Parameter(torch.tensor(logits)), features_shape=[3])


def test_score_function_gradient_matches_the_exact_gradient():
    torch.manual_seed(0)
    coins = _Coins([0.4, -1.0, 1.5])
    assert not coins.has_reparam
    v = torch.tensor([[2.0, -1.0], [0.5, 1.0], [-1.5, 0.3]])
    f_dec = _LinearMean(v)
    x = torch.tensor([[1.0, 0.2]])

    # exact: enumerate the 8 outcomes
    zs = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)))
    logp = TBernoulli(logits=coins.logits).log_prob(zs).sum(-1)
    f = f_dec.log_prob().eval({"x": x.expand(8, -1), "z": zs}).detach()
    exact_value = (logp.exp() * f).sum()
    (exact_grad,) = torch.autograd.grad(exact_value, coins.logits)
    # per-sample variance of the score-function gradient, also exact
    score = zs - torch.sigmoid(coins.logits).detach()
    second = (logp.exp().detach()[:, None] * (f[:, None] * score) ** 2).sum(0)
    se = ((second - exact_grad**2) / 40000).sqrt()

    loss = Expectation(coins, f_dec.log_prob(), sample_shape=(40000,))
    value = loss.eval({"x": x})
    assert value.shape == (1,)
    value.sum().backward()
    assert ((coins.logits.grad - exact_grad).abs() < 5 * se).all(), (coins.logits.grad, exact_grad, se)
    assert (value - exact_value).abs().item() < 0.1


class _LinearMean(Normal):
    """p(x|z) = N(x | z V, 1) for a fixed matrix V."""

    def __init__(self, v):
        super().__init__(var=["x"], cond_var=["z"], scale=1.0)
        self.register_buffer("v", v)

    def forward(self, z):
        return {"loc": z @ self.v}


def test_score_function_value_is_unchanged_and_gradient_reaches_the_distribution():
    cat = Categorical(logits=nn.Parameter(torch.zeros(4)), var=["k"])
    loss = Expectation(cat, Parameter("k") * 1.0, sample_shape=(5,))
    torch.manual_seed(1)
    value, out = loss.eval({}, return_dict=True)
    assert value.shape == ()  # nothing fixes a batch: a scalar, as the closed forms give
    torch.testing.assert_close(value, out["k"].float().mean())
    value.sum().backward()
    assert cat.logits.grad is not None and cat.logits.grad.abs().sum() > 0


def test_reparameterised_draws_are_rejected_only_when_asked_of_a_discrete_family():
    coins = _Coins([0.0, 0.0, 0.0])
    with pytest.raises(Exception, match="reparam"):
        coins.sample(reparam=True)
    # an expectation over it falls back to the score function, as documented
    Expectation(coins, Parameter("z").sum()).eval({})


@pytest.mark.parametrize("bad", [(0,), (-1,), "3", (1.5,)])
def test_bad_sample_shape(bad, vae):
    with pytest.raises(InputTypeError, match="sample_shape"):
        Expectation(vae.q, vae.p.log_prob(), sample_shape=bad)


def _chain():
    """q(z1|x) = N(x, 1), q(z2|z1) = N(z1, 0.5^2), p(x|z2) = N(z2, 2^2), 3 features."""
    q1 = Normal(loc="x", scale=1.0, var=["z1"], cond_var=["x"], name="q")
    q2 = Normal(loc="z1", scale=0.5, var=["z2"], cond_var=["z1"], name="q")
    p = Normal(loc="z2", scale=2.0, var=["x"], cond_var=["z2"])
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    # x - z2 ~ N(0, 1.25): E[log N(x | z2, 4)] = log N(x | x, 4) - 1.25 / (2 * 4), per feature
    exact = (TNormal(x, 2.0).log_prob(x) - 1.25 / 8).sum(-1)
    return q1, q2, p, x, exact


def test_expectation_over_a_joint_draws_ancestrally():
    q1, q2, p, x, exact = _chain()
    loss = p.log_prob().expectation(q2 * q1, sample_shape=(40000,))
    torch.manual_seed(0)
    value, out = loss.eval({"x": x}, return_dict=True)
    assert value.shape == (4,)
    assert out["z1"].shape == out["z2"].shape == (40000, 4, 3)
    # per-sample standard deviation of log N(x | z2, 4) is about 0.38: 5 standard errors
    assert ((value - exact).abs() < 5 * 0.38 / 200).all(), (value, exact)


def test_nested_expectations_stack_sample_dimensions():
    q1, q2, p, x, exact = _chain()
    loss = Expectation(q1, Expectation(q2, p.log_prob(), sample_shape=(50,)), sample_shape=(400,))
    torch.manual_seed(0)
    value, out = loss.eval({"x": x}, return_dict=True)
    assert value.shape == (4,)
    assert out["z1"].shape == (400, 4, 3) and out["z2"].shape == (50, 400, 4, 3)
    # the outer 400 draws dominate the error: sd of E[f | z1] is about 0.31
    assert ((value - exact).abs() < 5 * 0.31 / 20).all(), (value, exact)


def test_score_function_with_unsummed_features_matches_the_summed_one():
    # f keeps its feature dims (batch 3 = features 3, so a misaligned broadcast would go unnoticed)
    coins = _Coins([0.3, -0.5, 1.0])
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    x = torch.randn(3, 3, generator=torch.Generator().manual_seed(0))
    results = []
    for f in (p.log_prob(sum_features=False), p.log_prob()):
        torch.manual_seed(1)
        value = Expectation(coins, f, sample_shape=(500,)).eval({"x": x})
        value.sum().backward()
        results.append((value, coins.logits.grad.clone()))
        coins.logits.grad = None
    (elementwise, g_elementwise), (summed, g_summed) = results
    assert elementwise.shape == (3, 3) and summed.shape == (3,)
    torch.testing.assert_close(elementwise.sum(-1), summed)
    torch.testing.assert_close(g_elementwise, g_summed)


def test_expectation_of_a_loss_free_of_p_variables_is_the_loss_itself(vae):
    # E_{q(z|x)}[log p(x)] = log p(x): one value per batch element of x, nothing drawn
    px = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[4])
    x = torch.randn(5, 4)
    loss = Expectation(vae.q, px.log_prob())
    assert loss.input_var == ["x"]
    value, out = loss.eval({"x": x}, return_dict=True, return_all=False)
    assert value.shape == (5,)
    assert "z" not in out
    torch.testing.assert_close(value, px.log_prob().eval({"x": x}))
    torch.testing.assert_close(loss.sum().eval({"x": x}), px.log_prob().eval({"x": x}).sum())


@pytest.mark.parametrize("reparam", [True, False])
def test_one_sample_is_drawn_without_a_sample_dim_and_gives_the_same_value(vae, reparam):
    loss = Expectation(vae.q, vae.p.log_prob(), reparam=reparam)
    torch.manual_seed(7)
    value, out = loss.eval({"x": vae.x}, return_dict=True)
    assert out["z"].shape == (5, 2)  # (batch, features), as in Pixyz
    torch.manual_seed(7)
    z = vae.q.get_dist({"x": vae.x}).rsample()  # the same draw, by hand
    torch.testing.assert_close(value, vae.p.log_prob().eval({"x": vae.x, "z": z}))



class _Transition(Normal):
    """p(z|z_prev) around a linear layer, features_shape not declared."""

    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["z_prev"], name="p")
        self.fc = nn.Linear(2, 2)

    def forward(self, z_prev):
        return {"loc": self.fc(z_prev), "scale": torch.ones_like(z_prev)}


@pytest.mark.parametrize("sample_shape", [(3,), (2, 3)])
def test_features_inferred_when_the_value_has_sample_dims_and_the_inputs_none(vae, sample_shape):
    # z is drawn (sample dims) while z_prev is observed (none): the parameters of p(z|z_prev)
    # have no sample dims, so the features are their dims after the batch
    torch.manual_seed(0)
    p = _Transition()
    q = vae.q  # q(z|x) of 2 latent features
    loss = Expectation(q, p.log_prob(), sample_shape=sample_shape)
    z_prev = torch.randn(5, 2)
    torch.manual_seed(4)
    value = loss.eval({"x": vae.x, "z_prev": z_prev})
    assert p.features_shape == ()  # inferred per call, never kept

    torch.manual_seed(4)
    loc, scale = _encoder_params(q, vae.x)
    z = TNormal(loc, scale).rsample(sample_shape)
    ref = TNormal(p.fc(z_prev), 1.0).log_prob(z).sum(-1).mean(tuple(range(len(sample_shape))))
    assert value.shape == (5,)
    torch.testing.assert_close(value, ref)
