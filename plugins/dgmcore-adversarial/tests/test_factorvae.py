"""FactorVAE: the permute-dims sampler, and the total-correlation term on the digits."""

from __future__ import annotations

import math

import pytest
import torch
from dgmcore_adversarial import PermuteDims, TotalCorrelation, permute_dims
from dgmcore_families import Bernoulli, Normal
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Deterministic
from dgmcore.errors import InputTypeError
from dgmcore.losses import KullbackLeibler
from dgmcore.models import Model

Z = 6


def test_permute_dims_keeps_each_marginal_and_breaks_the_dependence():
    base = torch.randn(4000, 1)
    z = torch.cat([base, base + 0.1 * torch.randn(4000, 1), -base], dim=1)  # strongly correlated
    zp = permute_dims(z)
    for j in range(3):
        assert torch.equal(zp[:, j].sort().values, z[:, j].sort().values)
    corr = torch.corrcoef(zp.T)
    assert corr[0, 1].abs() < 0.1 and corr[0, 2].abs() < 0.1  # was 0.995 and -1
    assert torch.corrcoef(z.T)[0, 2] < -0.99


def test_the_permuted_distribution_samples_like_its_source_per_dimension():
    q = Normal(loc="x", scale=0.1, var=["z"], cond_var=["x"], name="q")
    bar = PermuteDims(q)
    assert bar.prob_text == "\\bar{q}(z|x)" and bar.input_var == ["x"]
    x = torch.randn(256, 3)
    z = bar.sample({"x": x}, return_all=False)["z"]
    assert z.shape == (256, 3)
    assert not torch.allclose(z, x, atol=0.5)  # rows are shuffled
    assert torch.allclose(z.sort(0).values, x.sort(0).values, atol=0.5)  # columns are not
    with pytest.raises(InputTypeError, match=r"\\bar\{q\}\(z\|x\) permutes over the batch"):
        bar.sample({"x": x}, sample_shape=(2,))


class Encoder(Normal):
    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.net = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 2 * Z))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        loc, scale = self.net(x).chunk(2, dim=-1)
        return {"loc": loc, "scale": F.softplus(scale) + 1e-3}


class Decoder(Bernoulli):
    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.net = nn.Sequential(nn.Linear(Z, 128), nn.ReLU(), nn.Linear(128, 64))

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.net(z)}


class Discriminator(Deterministic):
    def __init__(self) -> None:
        super().__init__(var=["t"], cond_var=["z"], name="d")
        act = nn.LeakyReLU(0.2)
        layers = [nn.Linear(Z, 64), act, nn.Linear(64, 64), act, nn.Linear(64, 1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"t": self.net(z)}


def _factor_vae(
    gamma: float, train: torch.Tensor, held_out: torch.Tensor, steps: int
) -> tuple[float, float, list[float]]:
    """Train from an encoder whose latent dimensions start as copies of one another (TC high)."""
    torch.manual_seed(0)
    q, p = Encoder(), Decoder()
    with torch.no_grad():  # every latent mean the same function of x, and little noise
        last = q.net[-1]
        last.weight[:Z] = 3 * last.weight[0]
        last.bias[:Z] = last.bias[0]
        last.weight[Z:] = 0.0
        last.bias[Z:] = -3.0
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z], name="p_{prior}")
    tc = TotalCorrelation(q, Discriminator(), optimizer_params={"lr": 1e-3, "betas": (0.5, 0.9)})
    vae = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    model = Model(vae + gamma * tc.mean(), [q, p], optimizer_params={"lr": 1e-3})

    def batch() -> dict[str, torch.Tensor]:
        return {"x": train[torch.randint(len(train), (128,))]}

    def estimate() -> float:
        with torch.no_grad():
            return tc.eval({"x": held_out}).mean().item()

    with torch.no_grad():
        initial = vae.eval({"x": held_out}).item()
    for _ in range(150):  # the discriminator first learns the initial encoder's dependence
        tc.train(batch())
    trace = [estimate()]
    for step in range(1, steps + 1):
        model.train(batch())
        tc.train(batch())
        if step % 50 == 0:
            trace.append(estimate())
    with torch.no_grad():
        return initial, vae.eval({"x": held_out}).item(), trace


def test_factor_vae_trains_and_its_total_correlation_falls():
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    images = torch.tensor(load_digits().data, dtype=torch.float32) / 16
    order = torch.randperm(len(images))
    train, held_out = images[order[:1400]], images[order[1400:]]
    initial, loss_fvae, tc_fvae = _factor_vae(10.0, train, held_out, 400)
    _, loss_vae, tc_vae = _factor_vae(0.0, train, held_out, 400)
    final_fvae, final_vae = sum(tc_fvae[-3:]) / 3, sum(tc_vae[-3:]) / 3
    print(f"FactorVAE (gamma 10): TC estimate {tc_fvae[0]:.3f} -> {final_fvae:.3f}, test loss "
          f"{initial:.2f} -> {loss_fvae:.2f}; "
          f"plain VAE (gamma 0): TC {tc_vae[0]:.3f} -> {final_vae:.3f}, test loss {loss_vae:.2f}")
    assert all(math.isfinite(t) for t in tc_fvae + tc_vae)
    assert final_fvae < 0.3 * tc_fvae[0]
    assert final_fvae < 0.5 * final_vae  # the penalty, not the VAE alone, removes the dependence
    assert loss_fvae < 0.8 * initial  # it still trains
