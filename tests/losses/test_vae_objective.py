"""The VAE objective of the paper, equation (7), against the same model written in plain PyTorch."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Bernoulli as TBernoulli
from torch.distributions import Normal as TNormal
from torch.nn import functional as F

from dgmcore import memo
from dgmcore.losses import KullbackLeibler, Loss, Parameter
from tests.losses.conftest import Encoder, grads, make_vae


def objective(v) -> Loss:
    return (KullbackLeibler(v.q, v.prior) - v.p.log_prob().expectation(v.q)).mean()


def hand_written(v, sample_n=1):
    """The same objective, the way one writes it without dgmcore."""
    h = v.q.fc2(torch.tanh(v.q.fc1(v.x)))
    loc, scale = h[:, :2], F.softplus(h[:, 2:]) + 1e-3
    kl = (torch.log(1 / scale) + (scale**2 + loc**2) / 2 - 0.5).sum(-1)
    eps = torch.randn(sample_n, *loc.shape)
    z = loc + scale * eps
    logits = v.p.fc2(torch.tanh(v.p.fc1(z)))
    rec = -F.binary_cross_entropy_with_logits(logits, v.x.expand_as(logits), reduction="none").sum(-1)
    return (kl - rec.mean(0)).mean()


def test_equals_hand_written_pytorch_values_and_gradients(vae):
    loss = objective(vae)
    torch.manual_seed(123)
    value = loss.eval({"x": vae.x})
    value.backward()
    got = grads([vae.q, vae.p])
    torch.manual_seed(123)
    ref = hand_written(vae)
    ref.backward()
    want = grads([vae.q, vae.p])
    assert value.shape == ()
    torch.testing.assert_close(value, ref)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w)
        assert g.abs().sum() > 0  # every parameter of both networks gets a gradient


def test_equals_torch_distributions_reference_with_several_samples(vae):
    loss = (KullbackLeibler(vae.q, vae.prior) - vae.p.log_prob().expectation(vae.q, (4,))).mean()
    torch.manual_seed(1)
    value = loss.eval({"x": vae.x})
    torch.manual_seed(1)
    h = vae.q.fc2(torch.tanh(vae.q.fc1(vae.x)))
    qz = TNormal(h[:, :2], F.softplus(h[:, 2:]) + 1e-3)
    z = qz.rsample((4,))
    rec = TBernoulli(logits=vae.p.fc2(torch.tanh(vae.p.fc1(z)))).log_prob(vae.x).sum(-1).mean(0)
    kl = torch.distributions.kl_divergence(qz, TNormal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(value, (kl - rec).mean())


def test_the_encoder_runs_once_per_evaluation(vae):
    loss = objective(vae)
    for _ in range(3):
        vae.q.calls = vae.p.calls = 0
        loss.eval({"x": vae.x})
        assert (vae.q.calls, vae.p.calls) == (1, 1)
    # nested evaluations share the outer scope
    vae.q.calls = 0
    with memo.scope():
        loss.eval({"x": vae.x})
        loss.eval({"x": vae.x})
    assert vae.q.calls == 1
    # a new x (even equal in value) is a new input; an in-place change is too
    vae.q.calls = 0
    x = vae.x.clone()
    loss.eval({"x": x})
    x.mul_(1.0)
    loss.eval({"x": x})
    assert vae.q.calls == 2


@pytest.mark.parametrize("how", ["disabled()", "memo=False"])
def test_memo_on_and_off_give_identical_values_and_gradients(how):
    on = make_vae()
    torch.manual_seed(8)
    v_on = objective(on).eval({"x": on.x})
    v_on.backward()
    g_on = grads([on.q, on.p])
    assert on.q.calls == 1

    off = make_vae()
    if how == "memo=False":
        off.q = Encoder(memo=False)
        loss = objective(off)
        torch.manual_seed(8)
        v_off = loss.eval({"x": off.x})
    else:
        loss = objective(off)
        torch.manual_seed(8)
        with memo.disabled():
            v_off = loss.eval({"x": off.x})
    v_off.backward()
    g_off = grads([off.q, off.p])
    assert off.q.calls == 2  # memo really was off: the encoder ran for each term
    torch.testing.assert_close(v_on, v_off, rtol=0, atol=0)
    for a, b in zip(g_on, g_off, strict=True):
        torch.testing.assert_close(a, b)


def test_the_memo_is_dropped_after_each_evaluation(vae):
    loss = objective(vae)
    loss.eval({"x": vae.x})
    assert not memo.is_active()
    # after an optimizer step the network runs again on the same x: nothing stale is reused
    opt = torch.optim.SGD(vae.q.parameters(), lr=0.5)
    torch.manual_seed(0)
    before = loss.eval({"x": vae.x})
    before.backward()
    opt.step()
    vae.q.calls = 0
    torch.manual_seed(0)
    after = loss.eval({"x": vae.x})
    assert vae.q.calls == 1
    assert after.item() != before.item()


def test_beta_vae_with_a_parameter(vae):
    beta = Parameter("beta")
    loss = (beta * KullbackLeibler(vae.q, vae.prior) - vae.p.log_prob().expectation(vae.q)).mean()
    torch.manual_seed(3)
    a = loss.eval({"x": vae.x, "beta": 0.0})
    torch.manual_seed(3)
    b = (-vae.p.log_prob().expectation(vae.q)).mean().eval({"x": vae.x})
    torch.testing.assert_close(a, b)
