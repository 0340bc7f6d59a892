"""The DMM's negative ELBO against a hand-written PyTorch loop on the same weights and noise."""

from __future__ import annotations

import math

import pytest
import torch
from dgmcore_timeseries.dmm import DMM
from torch.nn import functional as F

from dgmcore.models import Model


def log_normal(v: torch.Tensor, m: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return (-((v - m) ** 2) / (2 * s**2) - s.log() - 0.5 * math.log(2 * math.pi)).sum(-1)


def hand_negative_elbo(model: DMM, x: torch.Tensor, mask: torch.Tensor, analytic: bool) -> torch.Tensor:
    """Per sequence: each RNN run alone on its reversed frames, then the masked sum over time."""
    lengths = mask.sum(1).long().tolist()
    h = x.new_zeros(x.shape[0], x.shape[1], model.rnn.hidden_size)
    for i, n in enumerate(lengths):
        out, _ = model.rnn(x[i : i + 1, :n].flip(1))
        h[i, :n] = out[0].flip(0)
    z = x.new_zeros(x.shape[0], model.z_dim)
    total = x.new_zeros(x.shape[0])
    for t in range(x.shape[1]):
        p_loc, p_scale = model.transition(z)
        loc, scale = model.combiner(z, h[:, t])
        z_new = loc + scale * torch.randn_like(loc)
        if analytic:
            kl = p_scale.log() - scale.log() + (scale**2 + (loc - p_loc) ** 2) / (2 * p_scale**2) - 0.5
            kl = kl.sum(-1)
        else:
            kl = log_normal(z_new, loc, scale) - log_normal(z_new, p_loc, p_scale)
        nll = F.binary_cross_entropy_with_logits(model.emitter(z_new), x[:, t], reduction="none").sum(-1)
        m = mask[:, t]
        total = total + m * (kl + nll)
        z = torch.where(m.bool().unsqueeze(1), z_new, z)
    return total


@pytest.mark.parametrize("analytic", [True, False], ids=["analytic KL", "MC"])
def test_negative_elbo_equals_the_hand_written_loop_on_a_padded_batch(analytic):
    model = DMM(x_dim=12, z_dim=4, emission_dim=16, transition_dim=16, rnn_dim=10)
    lengths = [9, 4, 7]
    x = torch.bernoulli(torch.full((3, 9, 12), 0.3))
    mask = (torch.arange(9) < torch.tensor(lengths).unsqueeze(1)).float()
    x = x * mask.unsqueeze(-1)
    loss = model.loss(analytic=analytic)
    torch.manual_seed(3)
    value = loss.eval(model.inputs(x, mask))
    torch.manual_seed(3)
    ref = hand_negative_elbo(model, x, mask, analytic)
    torch.testing.assert_close(value, ref)
    grads = torch.autograd.grad(value.sum(), list(model.parameters()))
    refs = torch.autograd.grad(ref.sum(), list(model.parameters()))
    for g, r in zip(grads, refs, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6)


def test_trains_with_a_dgmcore_model_and_generates():
    torch.set_num_threads(1)
    model = DMM(x_dim=8, z_dim=3, emission_dim=16, transition_dim=16, rnn_dim=16)
    # a toy "chorale": one key held, moving up by one every two frames
    x = torch.zeros(16, 12, 8)
    for t in range(12):
        x[:, t, (t // 2) % 8] = 1.0
    loss = model.loss().mean()
    trainer = Model(loss, distributions=model.distributions, optimizer_params={"lr": 1e-2})
    data = model.inputs(x)
    first = trainer.test(data).item()
    for _ in range(40):
        trainer.train(data)
    assert trainer.test(data).item() < 0.6 * first
    out = model.generate(5, 12)
    assert out["x"].shape == (5, 12, 8) and out["z"].shape == (5, 12, 3)
    assert ((out["probs"] > 0) & (out["probs"] < 1)).all()


def test_annealed_loss_weights_the_kl_of_every_frame():
    model = DMM(x_dim=12, z_dim=4, emission_dim=16, transition_dim=16, rnn_dim=10)
    x = torch.bernoulli(torch.full((3, 6, 12), 0.3))
    values = {}
    for beta in (0.0, 0.5, 1.0):
        torch.manual_seed(4)
        values[beta] = model.loss(annealed=True).eval(model.inputs(x, beta=beta))
    torch.manual_seed(4)
    plain = model.loss().eval(model.inputs(x))
    torch.testing.assert_close(values[1.0], plain)
    # the KL does not depend on beta here (same noise): the value is linear in beta
    torch.testing.assert_close(values[0.5], 0.5 * (values[0.0] + values[1.0]))
    assert (values[1.0] > values[0.0]).all()  # KL > 0
