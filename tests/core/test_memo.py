"""The memo cache (DESIGN §6): each network runs once per evaluation, and never changes a result."""

from __future__ import annotations

import gc
import threading

import pytest
import torch
from torch import nn

from dgmcore import memo
from dgmcore.losses import KullbackLeibler, Loss
from tests.core.families import Decoder, Doubler, Encoder, Normal


def vae(memo_q: bool = True) -> tuple[Encoder, Decoder, Normal, Loss]:
    q, p = Encoder(memo=memo_q), Decoder()
    prior = Normal(var=["z"], name="p_{prior}", loc=torch.zeros(2), scale=torch.ones(2))
    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    return q, p, prior, loss


X = torch.bernoulli(torch.full((6, 4), 0.5))


def test_the_encoder_runs_once_per_evaluation() -> None:
    q, p, _, loss = vae()
    for i in range(1, 4):
        loss.eval({"x": X})
        assert (q.calls, p.calls) == (i, i)
    assert not memo.is_active()


def test_without_memo_the_encoder_runs_once_per_term() -> None:
    q, p, _, loss = vae()
    with memo.disabled():
        loss.eval({"x": X})
    assert q.calls == 2 and p.calls == 1
    q2, _, _, loss2 = vae(memo_q=False)
    loss2.eval({"x": X})
    assert q2.calls == 2


def _value_and_grads(
    loss: Loss, modules: list[nn.Module], seed: int = 3
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    for m in modules:
        m.zero_grad()
    torch.manual_seed(seed)
    value = loss.eval({"x": X.double()})
    value.backward()
    return value.detach(), [prm.grad.clone() for m in modules for prm in m.parameters()]


@pytest.mark.parametrize("how", ["disabled", "memo=False"])
def test_values_and_gradients_are_the_same_with_and_without_memo(how: str) -> None:
    torch.manual_seed(1)
    q, p, _, loss = vae()
    q.double(), p.double()
    v1, g1 = _value_and_grads(loss, [q, p])
    if how == "disabled":
        with memo.disabled():
            v2, g2 = _value_and_grads(loss, [q, p])
    else:
        q.memo = False
        v2, g2 = _value_and_grads(loss, [q, p])
    assert q.calls == 3  # once with memo, twice without: it really was switched off
    torch.testing.assert_close(v1, v2, rtol=1e-12, atol=1e-12)
    assert len(g1) == len(g2) == 10
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)  # the same up to summation order
        assert a.abs().sum() > 0


def test_nothing_survives_an_in_place_parameter_update() -> None:
    q, _, _, loss = vae()
    before = loss.eval({"x": X})
    with torch.no_grad():
        for prm in q.parameters():
            prm.add_(0.5)
    torch.manual_seed(5)
    after = loss.eval({"x": X})
    assert q.calls == 2
    with memo.disabled():
        torch.manual_seed(5)
        fresh = loss.eval({"x": X})
    assert not torch.equal(before, after)
    torch.testing.assert_close(after, fresh)  # computed with the updated parameters


def test_the_store_is_dropped_when_the_scope_ends() -> None:
    q = Encoder()
    x = torch.randn(3, 4)
    with memo.scope():
        a = q.get_params({"x": x})
        b = q.get_params({"x": x})
        assert q.calls == 1 and a["loc"] is b["loc"]
        assert memo.is_active()
    assert not memo.is_open() and not memo.is_active()
    c = q.get_params({"x": x})
    assert q.calls == 2 and c["loc"] is not a["loc"]


def test_key_is_identity_and_version_not_value() -> None:
    q = Encoder()
    x = torch.randn(3, 4)
    with memo.scope():
        first = q.get_params({"x": x})["loc"]
        q.get_params({"x": x.clone()})  # equal values, another tensor: recomputed
        assert q.calls == 2
        x.mul_(2.0)  # in place: the version changes
        second = q.get_params({"x": x})["loc"]
        assert q.calls == 3
        torch.testing.assert_close(second, q.forward(x)["loc"])
        assert not torch.allclose(first, second)


def test_in_place_update_of_a_parameter_inside_a_scope_is_not_seen_but_the_next_eval_is_fresh() -> None:
    # Inside one evaluation the networks are assumed fixed (the documented contract);
    # the optimizer step happens between evaluations, where nothing is cached.
    q = Encoder()
    x = torch.randn(3, 4)
    with memo.scope():
        a = q.get_params({"x": x})["loc"]
        calls = q.calls
        with torch.no_grad():
            q.loc.bias.add_(1.0)
        inside = q.get_params({"x": x})["loc"]
        assert q.calls == calls  # the stored result, not a second forward
        torch.testing.assert_close(inside, a)  # the update is not seen inside the scope
    with memo.scope():
        b = q.get_params({"x": x})["loc"]
    assert q.calls == calls + 1
    torch.testing.assert_close(b, a + 1.0)  # the next evaluation is fresh


def test_scopes_are_re_entrant() -> None:
    q, p, _, loss = vae()
    with memo.scope():
        loss.eval({"x": X})
        loss.eval({"x": X})  # nested evaluations share the outer scope
        assert memo.is_active()
    assert q.calls == 1
    assert not memo.is_active()

    class Nested(Loss):
        """A loss that evaluates another loss inside its own evaluation."""

        def __init__(self, inner: Loss) -> None:
            super().__init__(inner.input_var)
            self.inner = inner

        def _eval(self, x, samples):  # type: ignore[no-untyped-def]
            return self.inner.eval(x) + self.inner.eval(x)

    Nested(loss).eval({"x": X})
    assert q.calls == 2 and not memo.is_active()


def test_disabled_inside_a_scope_restores_the_store_after() -> None:
    q = Encoder()
    x = torch.randn(2, 4)
    with memo.scope():
        q.get_params({"x": x})
        with memo.disabled():
            assert not memo.is_active()
            q.get_params({"x": x})
            q.get_params({"x": x})
        assert memo.is_active()
        q.get_params({"x": x})
    assert q.calls == 3


def test_scope_is_closed_after_an_exception() -> None:
    q, _, _, loss = vae()
    with pytest.raises(KeyError):
        loss.eval({"not_x": X})
    assert not memo.is_active() and not memo.is_open()
    with pytest.raises(RuntimeError), memo.scope():
        raise RuntimeError("boom")
    assert not memo.is_active() and not memo.is_open()


def test_deterministic_and_renamed_distributions_share_the_memo() -> None:
    f = Doubler()
    z = torch.randn(3, 2)
    q = Encoder()
    r = q.replace_var(x="obs")
    x = torch.randn(3, 4)
    with memo.scope():
        f.sample({"z": z})
        f.sample({"z": z})
        q.get_params({"x": x})
        r.get_params({"obs": x})
    assert f.calls == 1 and q.calls == 1


def test_scopes_are_per_thread() -> None:
    q = Encoder()
    x = torch.randn(2, 4)
    seen = {}

    def other() -> None:
        seen["active"] = memo.is_active()
        q.get_params({"x": x})

    with memo.scope():
        q.get_params({"x": x})
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert seen["active"] is False and q.calls == 2


def _live_tensors() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


def test_no_memory_growth_over_1000_evaluations() -> None:
    q, p, _, loss = vae()
    opt = torch.optim.SGD(list(q.parameters()) + list(p.parameters()), lr=1e-3)

    def step() -> None:
        opt.zero_grad()
        loss.eval({"x": X}).backward()
        opt.step()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead on a busy machine
    try:
        for _ in range(20):
            step()
        before = _live_tensors()
        for _ in range(1000):
            step()
        after = _live_tensors()
    finally:
        torch.set_num_threads(threads)
    assert after <= before
    assert q.calls == 1020 and not memo.is_open()


def test_a_result_computed_under_no_grad_is_not_reused_with_grad_on() -> None:
    q = Encoder()
    x = torch.randn(3, 4)
    with memo.scope():
        with torch.no_grad():
            q.get_params({"x": x})
        loc = q.get_params({"x": x})["loc"]
    assert loc.requires_grad


def test_a_deterministic_result_under_no_grad_is_not_reused_with_grad_on() -> None:
    f = Doubler()
    z = torch.randn(3, 2, requires_grad=True)
    with memo.scope():
        with torch.no_grad():
            f.get_params({"z": z})
        assert f.get_params({"z": z})["h"].requires_grad


def test_deterministic_get_params_returns_a_copy_of_the_memo() -> None:
    f = Doubler()
    z = torch.randn(3, 2)
    with memo.scope():
        f.get_params({"z": z})["h"] = torch.zeros(1)  # a caller changing what it was given
        torch.testing.assert_close(f.get_params({"z": z})["h"], 2 * z)
