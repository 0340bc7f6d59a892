"""The VRNN's negative ELBO against a hand-written loop on the same weights and noise."""

from __future__ import annotations

import torch
from dgmcore_timeseries.vrnn import VRNN
from torch.nn import functional as F


def hand_negative_elbo(m: VRNN, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    h = x.new_zeros(x.shape[0], m.h_dim)
    total = x.new_zeros(x.shape[0])
    for t in range(x.shape[1]):
        xt = x[:, t]
        p_loc, p_s = m.prior.net(h).chunk(2, -1)
        q_loc, q_s = m.q.net(torch.cat([m.phi_x(xt), h], -1)).chunk(2, -1)
        prior = torch.distributions.Normal(p_loc, F.softplus(p_s) + 1e-4)
        q = torch.distributions.Normal(q_loc, F.softplus(q_s) + 1e-4)
        z = q.loc + q.scale * torch.randn_like(q.loc)
        logits = m.p.net(torch.cat([m.phi_z(z), h], -1))
        step = torch.distributions.kl_divergence(q, prior).sum(-1) + F.binary_cross_entropy_with_logits(
            logits, xt, reduction="none").sum(-1)
        total = total + mask[:, t] * step
        h_new = m.cell(torch.cat([m.phi_x(xt), m.phi_z(z)], -1), h)
        h = torch.where(mask[:, t].bool().unsqueeze(1), h_new, h)
    return total


def test_negative_elbo_equals_the_hand_written_loop():
    m = VRNN(x_dim=10, z_dim=3, h_dim=6, hidden=8)
    x = torch.bernoulli(torch.full((4, 7, 10), 0.3))
    mask = (torch.arange(7) < torch.tensor([7, 3, 5, 1]).unsqueeze(1)).float()
    torch.manual_seed(11)
    value = m.loss().eval(m.inputs(x, mask))
    torch.manual_seed(11)
    ref = hand_negative_elbo(m, x, mask)
    torch.testing.assert_close(value, ref)
    grads = torch.autograd.grad(value.sum(), list(m.parameters()))
    refs = torch.autograd.grad(ref.sum(), list(m.parameters()))
    for g, r in zip(grads, refs, strict=True):
        torch.testing.assert_close(g, r)


def test_generate_carries_the_state():
    torch.manual_seed(0)
    out = VRNN(x_dim=10, z_dim=3, h_dim=6, hidden=8).generate(2, 9)
    assert out["x"].shape == (2, 9, 10) and out["h"].shape == (2, 9, 6)
    assert not torch.allclose(out["h"][:, 0], out["h"][:, 1])  # the state moves
