"""VAE, GAN, ML, VI: Pixyz's objectives, training on the digits, and their errors."""

from __future__ import annotations

import math

import pytest
import torch
from dgmcore_trainers import GAN, ML, VAE, VI, fit
from dgmcore_trainers.demos.digits import make_decoder, make_encoder, make_prior
from torch.utils.data import DataLoader
from trainers_standin import StandInJS

import dgmcore.models
from dgmcore import plugins
from dgmcore.distributions import Categorical, Deterministic, Normal
from dgmcore.errors import InputTypeError
from dgmcore.losses import KullbackLeibler, log_marginal


def _train(model, x, epochs, batch=64, valid=None, **data):
    torch.manual_seed(1)
    loader = DataLoader(x, batch_size=batch, shuffle=True)
    return fit(model, loader, epochs, valid, progress=False, **data)


def test_models_are_in_the_core_namespace():
    found = (dgmcore.models.VAE, dgmcore.models.GAN, dgmcore.models.ML, dgmcore.models.VI)
    assert found == (VAE, GAN, ML, VI)


def test_vae_loss_is_reconstruction_plus_regularizer_as_in_pixyz():
    q, p, prior = make_encoder(2, 16), make_decoder(2, 16), make_prior(2)
    x = {"x": torch.rand(5, 64)}
    model = VAE(q, p, regularizer=KullbackLeibler(q, prior))
    torch.manual_seed(0)
    got = model.test(x)
    torch.manual_seed(0)
    # reference: the same estimate written by hand with torch.distributions
    with torch.no_grad():
        qd = torch.distributions.Normal(**q.get_params(x))
        z = qd.rsample()
        logits = p.get_params({"z": z})["logits"]
        rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, x["x"], reduction="none").sum(-1)
        kl = torch.distributions.kl_divergence(qd, torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(got, (rec + kl).mean())


def test_vae_without_regularizer_prints_and_trains(digits):
    q, p = make_encoder(2, 16), make_decoder(2, 16)
    model = VAE(q, p)
    assert "mean(-E_{q(z|x)}[log p(x|z)])" in str(model)
    assert model.train({"x": digits[0][:32]}).dim() == 0


def _independent_pixels_nll(train_x, test_x):
    """The best a decoder that ignores z can do: one Bernoulli per pixel at its training mean."""
    mean = train_x.mean(0).clamp(1e-4, 1 - 1e-4)
    return -(test_x * mean.log() + (1 - test_x) * (1 - mean).log()).sum(-1).mean().item()


@pytest.mark.parametrize("ignore_latent", [False, pytest.param(True, id="mutant-ignoring-z")])
def test_vae_beats_the_decoder_that_ignores_its_latent(digits, ignore_latent):
    """Fails if the decoder ignores z: the latent must carry what independent pixels cannot."""
    train_x, _, test_x, _ = digits
    baseline = _independent_pixels_nll(train_x, test_x)
    assert 26.5 < baseline < 28.0  # the "about 27 nats" a reader could mistake for a VAE's figure
    torch.manual_seed(0)
    q, p, prior = make_encoder(8, 256), make_decoder(8, 256, ignore_latent=ignore_latent), make_prior(8)
    model = VAE(q, p, regularizer=KullbackLeibler(q, prior), optimizer_params={"lr": 3e-3})
    run = _train(model, train_x, 8 if not ignore_latent else 3, batch=32,
                 valid=DataLoader(test_x, batch_size=512))
    losses = [row["valid_loss"] for row in run.history]
    assert ignore_latent or losses[-1] < losses[0] - 1.0
    torch.manual_seed(0)
    log_px = log_marginal(p * prior, q, {"x": test_x}, k=64).mean().item()
    beats = log_px > -baseline + 1.5
    assert beats is (not ignore_latent), (log_px, baseline)


def test_ml_classifier_on_digits(digits):
    train_x, train_y, test_x, test_y = digits

    class Classifier(Categorical):
        def __init__(self):
            super().__init__(var=["y"], cond_var=["x"], name="p")
            self.net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))

        def forward(self, x):
            return {"logits": self.net(x)}

    p = Classifier()
    model = ML(p, optimizer_params={"lr": 1e-2})
    assert str(model.loss_cls) == "mean(-log p(y|x))"
    before = model.test({"x": test_x, "y": test_y}).item()
    torch.manual_seed(0)
    loader = DataLoader(torch.utils.data.TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
    fit(model, loader, 5, variables=["x", "y"], progress=False)
    after = model.test({"x": test_x, "y": test_y}).item()
    # reference: the cross-entropy of the same network, by hand
    with torch.no_grad():
        ce = torch.nn.functional.cross_entropy(p.net(test_x), test_y.argmax(-1)).item()
    assert after == pytest.approx(ce, rel=1e-5)
    assert after < 0.3 * before
    accuracy = (p.net(test_x).argmax(-1) == test_y.argmax(-1)).float().mean().item()
    assert accuracy > 0.9


def test_vi_is_the_negative_elbo_and_trains_on_digits(digits):
    train_x, _, test_x, _ = digits
    torch.manual_seed(0)
    q, p, prior = make_encoder(4, 64), make_decoder(4, 64), make_prior(4)
    vi = VI(p * prior, q, optimizer_params={"lr": 2e-3})
    vae = VAE(q, p, regularizer=KullbackLeibler(q, prior))
    # -ELBO equals reconstruction + analytic KL in expectation: compare with many samples
    x = {"x": test_x[:50]}
    torch.manual_seed(0)
    many_vi = torch.stack([vi.test(x) for _ in range(200)]).mean()
    many_vae = torch.stack([vae.test(x) for _ in range(200)]).mean()
    torch.testing.assert_close(many_vi, many_vae, rtol=2e-3, atol=0.0)
    run = _train(vi, train_x, 6, valid=DataLoader(test_x, batch_size=512))
    losses = [row["valid_loss"] for row in run.history]
    assert losses[-1] < losses[0] - 1.0


class _Critic(Deterministic):
    def __init__(self):
        super().__init__(var=["t"], cond_var=["x"], name="d")
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))

    def forward(self, x):
        return {"t": torch.sigmoid(self.net(x))}


def test_gan_steps_discriminator_then_generator_and_moves_to_the_data():
    torch.manual_seed(0)
    p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=0.5, var=["x"], name="p")
    d = _Critic()
    adam = {"betas": (0.5, 0.999)}  # the usual GAN setting
    model = GAN(p, d, optimizer_params={"lr": 0.05, **adam}, d_optimizer_params={"lr": 0.02, **adam},
                divergence=StandInJS)
    assert "JS_adv[p_{data}(x)||p(x)]" in str(model) and "d(t|x)" in str(model)
    data = torch.randn(512, 2) * 0.5 + 3.0
    g_loss, d_loss = model.train({"x": data[:64]})
    assert g_loss.dim() == d_loss.dim() == 0
    assert model.train({"x": data[:64]}, adversarial_loss=False).dim() == 0
    run = _train(model, data, 40)
    assert set(run.history[0]) >= {"train_loss", "train_discriminator_loss"}
    torch.testing.assert_close(p.loc.detach(), torch.full((2,), 3.0), atol=0.5, rtol=0)
    assert len(model.test({"x": data})) == 2


def test_gan_rejects_a_loss_without_the_adversarial_interface():
    p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=0.5, var=["x"], name="p")
    with pytest.raises(InputTypeError, match="no loss_train, train, test"):
        GAN(p, _Critic(), divergence=lambda p_data, p, d, **kw: -p.log_prob().mean())


@pytest.mark.parametrize("build", [
    lambda: VAE("q", make_decoder(2, 8)),
    lambda: VAE(make_encoder(2, 8), make_decoder(2, 8), regularizer="kl"),
    lambda: ML(torch.nn.Linear(2, 2)),
    lambda: VI(make_decoder(2, 8), make_encoder(2, 8), other_distributions=[3]),
], ids=["vae-encoder", "vae-regularizer", "ml-module", "vi-other"])
def test_bad_arguments_are_typed_errors(build):
    with pytest.raises(InputTypeError, match="(VAE|ML|VI): "):
        build()


class _Counting(StandInJS):
    steps = 0

    def train(self, x_dict):
        type(self).steps += 1
        return super().train(x_dict)


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_gan_under_fit_steps_both_networks(precision):
    """One process in full precision runs the divergence's own train(); otherwise fit's generic step."""
    torch.manual_seed(0)
    p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=0.5, var=["x"], name="p")
    d = _Critic()
    _Counting.steps = 0
    model = GAN(p, d, divergence=_Counting, optimizer_params={"lr": 0.05})
    d_before = [t.detach().clone() for t in d.parameters()]
    run = fit(model, DataLoader(torch.randn(64, 2) + 3.0, batch_size=16), 2, precision=precision,
              progress=False)
    assert _Counting.steps == (8 if precision == "32-true" else 0)
    assert all(not torch.equal(a, b) for a, b in zip(d_before, d.parameters(), strict=True))
    assert not torch.equal(p.loc.detach(), torch.zeros(2))
    assert all(math.isfinite(v) for v in run.history[-1].values())


def test_gan_with_the_adversarial_plugin_moves_to_the_data():
    """The default divergence comes from dgmcore-adversarial (its own tests cover its maths)."""
    plugin = pytest.importorskip("dgmcore_adversarial.plugin")
    status = plugins.register(plugin, name="dgmcore-adversarial")
    assert status.status == "ok", status.reason
    try:
        torch.manual_seed(0)
        p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=0.5, var=["x"], name="p")
        adam = {"betas": (0.5, 0.999)}
        model = GAN(p, _Critic(), optimizer_params={"lr": 0.05, **adam},
                    d_optimizer_params={"lr": 0.02, **adam})
        assert type(model.adversarial).__name__ == "AdversarialJensenShannon"
        _train(model, torch.randn(512, 2) * 0.5 + 3.0, 40)
        torch.testing.assert_close(p.loc.detach(), torch.full((2,), 3.0), atol=0.5, rtol=0)
    finally:
        plugins.unregister("dgmcore-adversarial")
