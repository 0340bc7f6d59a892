"""The TD-VAE loss against a hand-written loop on the same weights, jumps and noise."""

from __future__ import annotations

import torch
from dgmcore_timeseries.tdvae import TDVAE
from torch.nn import functional as F


def normal(out: torch.Tensor) -> torch.distributions.Normal:
    loc, s = out.chunk(2, -1)
    return torch.distributions.Normal(loc, F.softplus(s) + 1e-3)


def hand_loss(m: TDVAE, x: torch.Tensor) -> torch.Tensor:
    b = m.beliefs.lstm(x)[0]
    total = x.new_zeros(x.shape[0])
    for t in range(x.shape[1] - m.max_jump):
        t2 = t + int(torch.randint(1, m.max_jump + 1, ()))
        b1, b2, x2 = b[:, t], b[:, t2], x[:, t2]
        p_b2 = normal(m.belief.net(b2))
        z2 = p_b2.loc + p_b2.scale * torch.randn_like(p_b2.loc)
        q = normal(m.q.net(torch.cat([z2, b1, b2], -1)))
        z1 = q.loc + q.scale * torch.randn_like(q.loc)
        kl = torch.distributions.kl_divergence(q, normal(m.belief.net(b1))).sum(-1)
        jump = normal(m.transition.net(z1))
        log_t = torch.distributions.Normal(z1 + jump.loc, jump.scale).log_prob(z2).sum(-1)
        nll = F.binary_cross_entropy_with_logits(m.decoder.net(z2), x2, reduction="none").sum(-1)
        total = total + kl + p_b2.log_prob(z2).sum(-1) - log_t + nll
    return total


def test_loss_equals_the_hand_written_loop():
    m = TDVAE(x_dim=10, z_dim=3, b_dim=6, hidden=8, max_jump=3)
    x = torch.bernoulli(torch.full((4, 9, 10), 0.4))
    torch.manual_seed(2)
    value = m.loss(steps=9).eval(m.inputs(x))
    torch.manual_seed(2)
    ref = hand_loss(m, x)
    torch.testing.assert_close(value, ref)
    grads = torch.autograd.grad(value.sum(), list(m.parameters()))
    refs = torch.autograd.grad(ref.sum(), list(m.parameters()))
    for g, r in zip(grads, refs, strict=True):
        torch.testing.assert_close(g, r)


def test_predictions_jump_from_the_belief_at_the_end_of_the_context():
    m = TDVAE(x_dim=10, z_dim=3, b_dim=6, hidden=8, max_jump=3)
    pred = m.predict(torch.zeros(2, 4, 10), jumps=6)
    assert pred.shape == (2, 6, 10) and ((pred > 0) & (pred < 1)).all()
