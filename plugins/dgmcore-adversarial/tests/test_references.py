"""Independent references: the optimal discriminator between two Gaussians, and the WGAN-GP penalty."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from dgmcore_adversarial import (
    AdversarialJensenShannon,
    AdversarialKullbackLeibler,
    AdversarialWassersteinDistance,
    gradient_penalty,
)
from dgmcore_families import Normal
from torch import nn

from dgmcore.distributions import Deterministic, EmpiricalDistribution

MU_P, SD_P, MU_Q, SD_Q = 0.0, 1.0, 1.5, 0.7


def js_by_integration() -> float:
    """D_JS[p||q] of the two Gaussians by the trapezoidal rule on a fine grid."""
    x = np.linspace(-12, 12, 400_001)
    p = np.exp(-0.5 * ((x - MU_P) / SD_P) ** 2) / (SD_P * math.sqrt(2 * math.pi))
    q = np.exp(-0.5 * ((x - MU_Q) / SD_Q) ** 2) / (SD_Q * math.sqrt(2 * math.pi))
    m = 0.5 * (p + q)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = 0.5 * np.where(p > 0, p * np.log(p / m), 0.0) + 0.5 * np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.trapezoid(f, x))


class OptimalDiscriminator(Deterministic):
    """d*(x) = p(x) / (p(x) + q(x)), written from the two densities (a dummy weight to train)."""

    def __init__(self) -> None:
        super().__init__(var=["t"], cond_var=["x"], name="d")
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        lp = torch.distributions.Normal(MU_P, SD_P).log_prob(x)
        lq = torch.distributions.Normal(MU_Q, SD_Q).log_prob(x)
        return {"t": torch.sigmoid(lp - lq) + 0 * self.unused}


class Quadratic(Deterministic):
    """sigmoid(a x^2 + b x + c): it can represent the optimal discriminator of two Gaussians."""

    def __init__(self) -> None:
        super().__init__(var=["t"], cond_var=["x"], name="d")
        self.net = nn.Linear(2, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"t": torch.sigmoid(self.net(torch.cat([x, x * x], -1)))}


def _gaussians():
    p = Normal(loc="m", scale=SD_P, var=["x"], cond_var=["m"], name="p")
    q = Normal(loc=MU_Q, scale=SD_Q, var=["x"], features_shape=[1], name="q")
    return p, q


def test_the_js_term_at_the_optimal_discriminator_is_2js_minus_log4():
    p, q = _gaussians()
    loss = AdversarialJensenShannon(p, q, OptimalDiscriminator(), inverse_g_loss=False)
    n = 200_000
    values = loss.eval({"m": torch.full((n, 1), MU_P, dtype=torch.float64)})
    reference = 2 * js_by_integration() - math.log(4)
    se = values.std().item() / math.sqrt(n)
    assert abs(values.mean().item() - reference) < 4 * se, (values.mean().item(), reference, se)
    # the discriminator's loss is minus the same value
    d_loss = loss.loss_train({"m": torch.full((n, 1), MU_P, dtype=torch.float64)})
    assert abs(d_loss.item() + reference) < 8 * se


def test_a_trained_discriminator_reaches_the_js_and_kl_of_the_two_gaussians():
    p, q = _gaussians()
    js = AdversarialJensenShannon(p, q, Quadratic(), inverse_g_loss=False, optimizer_params={"lr": 0.05})
    kl = AdversarialKullbackLeibler(p, q, Quadratic(), optimizer_params={"lr": 0.05})
    batch = {"m": torch.full((1024, 1), MU_P)}
    for _ in range(400):
        js.train(batch)
        kl.train(batch)
    big = {"m": torch.full((100_000, 1), MU_P)}
    with torch.no_grad():
        js_value, kl_value = js.eval(big).mean().item(), kl.eval(big).mean().item()
    assert js_value == pytest.approx(2 * js_by_integration() - math.log(4), abs=0.02)
    kl_closed = torch.distributions.kl_divergence(
        torch.distributions.Normal(MU_P, SD_P), torch.distributions.Normal(MU_Q, SD_Q)
    ).item()
    assert kl_value == pytest.approx(kl_closed, rel=0.05)


class Critic(Deterministic):
    """A hand-written critic over one or two variables: f = v . tanh(A [x, y]) + (x . x) c."""

    def __init__(self, variables: tuple[str, ...], dim: int) -> None:
        super().__init__(var=["t"], cond_var=list(variables), name="f")
        self.variables = variables
        self.A = nn.Parameter(torch.randn(5, dim, dtype=torch.float64))
        self.v = nn.Parameter(torch.randn(5, dtype=torch.float64))
        self.c = nn.Parameter(torch.tensor(0.3, dtype=torch.float64))

    def value(self, h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h @ self.A.T) @ self.v + self.c * (h * h).sum(-1)

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"t": self.value(torch.cat([inputs[v] for v in self.variables], -1))}


def _reference_penalty(critic: Critic, hats: torch.Tensor) -> torch.Tensor:
    """(||grad f(x_hat_i)|| - 1)^2, each gradient from autograd's jacobian of f at one point."""
    out = []
    for h in hats:
        grad = torch.autograd.functional.jacobian(lambda u: critic.value(u[None])[0], h)
        out.append((grad.norm() - 1) ** 2)
    return torch.stack(out)


def test_the_gradient_penalty_matches_autograd_jacobians():
    critic = Critic(("x",), 3)
    x_p, x_q = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64) + 2
    eps = torch.rand(6, dtype=torch.float64)
    got = gradient_penalty(lambda d: critic.sample(d, return_all=False)["t"], {"x": x_p}, {"x": x_q},
                           epsilon=eps)
    hats = eps[:, None] * x_p + (1 - eps[:, None]) * x_q
    torch.testing.assert_close(got, _reference_penalty(critic, hats))
    got.sum().backward()  # the penalty trains the critic (create_graph)
    assert critic.A.grad is not None and critic.A.grad.abs().sum() > 0


def test_the_gradient_norm_runs_over_every_variable_of_a_joint():
    critic = Critic(("x", "y"), 5)
    x_p = {"x": torch.randn(4, 2, dtype=torch.float64), "y": torch.randn(4, 3, dtype=torch.float64)}
    x_q = {"x": torch.randn(4, 2, dtype=torch.float64), "y": torch.randn(4, 3, dtype=torch.float64)}
    eps = torch.rand(4, dtype=torch.float64)
    got = gradient_penalty(lambda d: critic.sample(d, return_all=False)["t"], x_p, x_q, epsilon=eps)
    hats = torch.cat([eps[:, None] * x_p[v] + (1 - eps[:, None]) * x_q[v] for v in ("x", "y")], -1)
    torch.testing.assert_close(got, _reference_penalty(critic, hats))


def test_the_critic_loss_adds_the_weighted_penalty():
    critic = Critic(("x",), 3)

    class Shift(Deterministic):
        def __init__(self):
            super().__init__(var=["x"], cond_var=["z"], name="p")

        def forward(self, z):
            return {"x": z + 1}

    data = {"z": torch.randn(8, 3, dtype=torch.float64), "x": torch.randn(8, 3, dtype=torch.float64)}
    data_dist = EmpiricalDistribution(["x"])
    plain = AdversarialWassersteinDistance(Shift(), data_dist, critic)
    penalised = AdversarialWassersteinDistance(Shift(), data_dist, critic, gradient_penalty=10.0)
    torch.manual_seed(3)
    eps = torch.rand(8, dtype=torch.float64)
    hats = eps[:, None] * (data["z"] + 1) + (1 - eps[:, None]) * data["x"]
    torch.manual_seed(3)  # the only draw inside is the interpolation weight
    got = penalised.loss_train(data)
    expected = plain.loss_train(data) + 10.0 * _reference_penalty(critic, hats).mean()
    torch.testing.assert_close(got, expected)
