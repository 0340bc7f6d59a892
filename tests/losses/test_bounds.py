"""ELBO, IWELBO and log_marginal on a linear-Gaussian model, where log p(x) is closed form.

Model: z ~ N(0, I_2), x | z ~ N(W z + b, s^2 I_4), with W's columns orthogonal so
that the exact posterior is a diagonal Gaussian:

    p(x) = N(b, W W^T + s^2 I)
    p(z|x) = N(S W^T (x - b) / s^2, S),   S = (I + W^T W / s^2)^-1   (diagonal)
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.distributions import MultivariateNormal
from torch.distributions import Normal as TNormal

from dgmcore.errors import InputTypeError
from dgmcore.losses import ELBO, IWELBO, log_marginal
from tests.families import Bernoulli, Normal
from tests.losses.conftest import grads

D, K, S = 4, 2, 0.5
_gen = torch.Generator().manual_seed(0)
_Q, _ = torch.linalg.qr(torch.randn(D, D, generator=_gen))
W = _Q[:, :K] * torch.tensor([1.5, 0.7])
B = torch.tensor([0.3, -0.2, 0.1, 0.5])
POST_VAR = 1.0 / (1.0 + (W**2).sum(0) / S**2)  # diagonal of S
POST_MAP = POST_VAR[:, None] * W.T / S**2  # mean = POST_MAP @ (x - b)


class LinearDecoder(Normal):
    def __init__(self):
        super().__init__(var=["x"], cond_var=["z"], scale=S)
        self.w = torch.nn.Parameter(W.clone())
        self.b = torch.nn.Parameter(B.clone())

    def forward(self, z):
        return {"loc": z @ self.w.T + self.b}


class LinearEncoder(Normal):
    """q(z|x) = N(shift + scale_mean * exact mean, scale_std * exact std)."""

    def __init__(self, shift=0.0, mean_factor=1.0, std_factor=1.0):
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.a = torch.nn.Parameter(mean_factor * POST_MAP.clone())
        self.c = torch.nn.Parameter(torch.full((K,), float(shift)))
        self.log_std = torch.nn.Parameter(POST_VAR.sqrt().log() + math.log(std_factor))

    def forward(self, x):
        return {"loc": (x - B) @ self.a.T + self.c, "scale": self.log_std.exp()}


def model(**q_kwargs):
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[K], name="p")
    dec = LinearDecoder()
    return dec * prior, LinearEncoder(**q_kwargs), dec, prior


def data(n, seed=1):
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, K, generator=gen)
    return z @ W.T + B + S * torch.randn(n, D, generator=gen)


def exact_log_px(x):
    return MultivariateNormal(B, W @ W.T + S**2 * torch.eye(D)).log_prob(x)


def test_elbo_matches_hand_math_and_backpropagates():
    joint, q, dec, prior = model(shift=0.3, std_factor=1.5)
    x = data(6)
    torch.manual_seed(4)
    value = ELBO(joint, q, sample_shape=(3,)).eval({"x": x})
    value.sum().backward()
    got = grads([q, dec])

    torch.manual_seed(4)
    loc = (x - B) @ q.a.T + q.c
    qz = TNormal(loc, q.log_std.exp())
    z = qz.rsample((3,))
    ref = (
        TNormal(z @ dec.w.T + dec.b, S).log_prob(x).sum(-1)
        + TNormal(0.0, 1.0).log_prob(z).sum(-1)
        - qz.log_prob(z).sum(-1)
    ).mean(0)
    ref.sum().backward()
    want = grads([q, dec])
    assert value.shape == (6,)
    torch.testing.assert_close(value, ref)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)
        assert g.abs().sum() > 0


def test_with_the_exact_posterior_every_bound_is_log_px():
    # log p(x,z) - log q(z|x) = log p(x) for every z when q is the posterior
    joint, q, _, _ = model()
    x = data(8)
    exact = exact_log_px(x)
    torch.manual_seed(0)
    torch.testing.assert_close(ELBO(joint, q).eval({"x": x}).detach(), exact)
    torch.testing.assert_close(IWELBO(joint, q, k=7).eval({"x": x}).detach(), exact)
    torch.testing.assert_close(log_marginal(joint, q, {"x": x}, k=250, chunk=60), exact)


def test_iwelbo_at_k1_equals_the_elbo_on_the_same_draws():
    joint, q, _, _ = model(shift=0.5, std_factor=0.5)
    x = data(10)
    torch.manual_seed(9)
    elbo = ELBO(joint, q).eval({"x": x})
    torch.manual_seed(9)
    iw = IWELBO(joint, q, k=1).eval({"x": x})
    torch.testing.assert_close(iw, elbo)


def test_iwelbo_increases_with_k_and_stays_below_log_px():
    joint, q, _, _ = model(shift=0.8, mean_factor=0.7, std_factor=0.6)  # a poor proposal
    x = data(200).repeat(10, 1)  # 10 independent estimates for each of 200 points
    gap = exact_log_px(x)
    torch.manual_seed(2)
    means, ses = [], []
    with torch.no_grad():
        for k in (1, 4, 16, 64):
            d = IWELBO(joint, q, k=k).eval({"x": x}) - gap
            means.append(d.mean().item())
            ses.append(d.std().item() / len(d) ** 0.5)
    for i in range(len(means) - 1):
        assert means[i + 1] - means[i] > 3 * (ses[i] ** 2 + ses[i + 1] ** 2) ** 0.5, means
    for m, s in zip(means, ses, strict=True):
        assert m + 3 * s < 0, means  # a lower bound on log p(x)


def test_iwelbo_shape_and_gradients():
    joint, q, dec, _ = model(shift=0.2)
    x = data(5)
    value = IWELBO(joint, q, k=3).eval({"x": x})
    assert value.shape == (5,)
    (-value.mean()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in [*q.parameters(), dec.w])
    _, out = IWELBO(joint, q, k=3).eval({"x": x}, return_dict=True)
    assert out["z"].shape == (3, 5, K)


def test_log_marginal_within_one_percent_of_exact():
    joint, q, _, _ = model(shift=0.2, std_factor=1.3)
    x = data(20)
    torch.manual_seed(5)
    est = log_marginal(joint, q, {"x": x}, k=1000, chunk=300)
    exact = exact_log_px(x)
    assert est.shape == (20,) and not est.requires_grad
    assert ((est - exact).abs() / exact.abs() < 0.01).all(), (est, exact)


@pytest.mark.parametrize("k, chunk", [(0, 10), (10, 0), (2.5, 1), (10, None)])
def test_log_marginal_bad_arguments(k, chunk):
    joint, q, _, _ = model()
    with pytest.raises(InputTypeError):
        log_marginal(joint, q, {"x": data(2)}, k=k, chunk=chunk)


@pytest.mark.parametrize("k", [0, -1, 2.0, "3"])
def test_iwelbo_bad_k(k):
    joint, q, _, _ = model()
    with pytest.raises(InputTypeError, match="k"):
        IWELBO(joint, q, k=k)


def test_texts():
    joint, q, _, _ = model()
    assert str(ELBO(joint, q)) == "E_{q(z|x)}[log p(x,z) - log q(z|x)]"
    assert str(IWELBO(joint, q, k=5)) == "IWELBO_5[p(x,z), q(z|x)]"
    assert ELBO(joint, q).input_var == ["x"]
    assert IWELBO(joint, q).input_var == ["x"]


class _CoinEncoder(Bernoulli):
    """q(z|x) = Bernoulli(sigmoid(x W)), z in {0, 1}^2: no reparameterised draws."""

    def __init__(self):
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.w = torch.nn.Parameter(torch.tensor([[0.8, -0.5], [0.3, 0.9], [-0.6, 0.2]]))

    def forward(self, x):
        return {"logits": x @ self.w}


_V = torch.tensor([[1.0, -0.5, 0.3], [0.2, 0.8, -1.0]])
_X0 = torch.tensor([0.5, -1.0, 1.5])


class _LinearX(Normal):
    def __init__(self):
        super().__init__(var=["x"], cond_var=["z"], scale=1.0)

    def forward(self, z):
        return {"loc": z @ _V}


def _exact_bound_grad(q, k):
    """The exact IWELBO_k (ELBO at k=1) at x0 and its gradient in q's weights, by enumeration."""
    logits = _X0 @ q.w
    tq = torch.distributions.Bernoulli(logits=logits)
    zs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    log_q = tq.log_prob(zs).sum(-1)
    log_p = (
        torch.distributions.Bernoulli(probs=torch.tensor(0.3)).log_prob(zs).sum(-1)
        + TNormal(zs @ _V, 1.0).log_prob(_X0).sum(-1)
    )
    log_w = log_p - log_q
    total = torch.zeros(())
    for combo in itertools.product(range(4), repeat=k):
        idx = torch.tensor(combo)
        total = total + log_q[idx].sum().exp() * (torch.logsumexp(log_w[idx], 0) - math.log(k))
    (grad,) = torch.autograd.grad(total, q.w)
    return grad


@pytest.mark.parametrize("k", [1, 2])
def test_iwelbo_with_a_discrete_proposal_has_the_exact_gradient_in_expectation(k):
    torch.manual_seed(0)
    q, p = _CoinEncoder(), _LinearX() * Bernoulli(probs=0.3, var=["z"], features_shape=[2])
    exact = _exact_bound_grad(q, k)
    assert exact.abs().max() > 0.4  # without the score term the estimate would be ~0
    x = _X0.expand(200_000, 3)
    estimates = {"IWELBO": IWELBO(p, q, k=k)}
    if k == 1:
        estimates["ELBO"] = ELBO(p, q)  # Expectation's score-function gradient
    for name, bound in estimates.items():
        q.w.grad = None
        bound.mean().eval({"x": x}).backward()
        torch.testing.assert_close(q.w.grad, exact, atol=0.06, rtol=0.05, msg=name)


def test_iwelbo_rejects_a_bool_k():
    q, p = _CoinEncoder(), _LinearX() * Bernoulli(probs=0.3, var=["z"], features_shape=[2])
    with pytest.raises(InputTypeError, match="positive integer k"):
        IWELBO(p, q, k=True)
