"""A distribution's shape check is memoized with its entry within a scope, and never reused stale."""

from __future__ import annotations

import torch
from torch import nn

from dgmcore import memo
from dgmcore.distributions import Normal


class Cond(Normal):
    def __init__(self, use_memo: bool = True) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p", memo=use_memo)
        self.net = nn.Linear(2, 3)

    def forward(self, z):
        return {"loc": self.net(z), "scale": torch.ones(z.shape[:-1] + (3,))}


def _ref(p: Cond, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Normal(p.net(z), 1.0).log_prob(x).sum(-1)


def test_a_rewritten_constant_is_checked_and_scored_anew_inside_one_scope():
    d = Normal(loc=torch.zeros(3), scale=torch.ones(3), var=["x"])
    x = torch.randn(4, 3)
    with memo.scope():
        before = d.get_log_prob({"x": x})
        d.loc[0] = torch.tensor([1.0, 2.0, 3.0])
        after = d.get_log_prob({"x": x})
        wider = d.get_log_prob({"x": torch.randn(6, 3)})
    torch.testing.assert_close(before, torch.distributions.Normal(0.0, 1.0).log_prob(x).sum(-1))
    ref = torch.distributions.Normal(torch.tensor([1.0, 2.0, 3.0]), 1.0).log_prob(x).sum(-1)
    torch.testing.assert_close(after, ref)
    assert wider.shape == (6,)


def test_unmemoized_and_memoized_distributions_check_each_input_of_a_scope():
    """Many inputs of other batch sizes in one scope: every answer is its own input's."""
    for use_memo in (True, False):
        p = Cond(use_memo)
        with memo.scope():
            for n in (1, 5, 2, 7, 5, 3) * 3:
                z, x = torch.randn(n, 2), torch.randn(n, 3)
                assert p.sample({"z": z})["x"].shape == (n, 3)
                torch.testing.assert_close(p.get_log_prob({"z": z, "x": x}), _ref(p, z, x))


def _count_checks(monkeypatch, cls) -> list[int]:
    """A list that grows by one on each shape check of a ``cls`` instance."""
    calls: list[int] = []
    real = cls._check_entry

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, "_check_entry", counted)
    return calls


def test_the_check_runs_once_for_a_sample_and_a_score_of_one_input(monkeypatch):
    p = Cond()
    calls = _count_checks(monkeypatch, type(p))
    z = torch.randn(4, 2)
    with memo.scope():
        x = p.sample({"z": z})["x"]
        p.get_log_prob({"z": z, "x": x})
    assert len(calls) == 1
    calls.clear()
    p.sample({"z": z})  # outside a scope: checked every call
    p.sample({"z": z})
    assert len(calls) == 2


def test_an_input_free_distribution_checks_once_per_entry_and_anew_when_rebuilt(monkeypatch):
    """A constant's check is kept with its cached entry, across scopes; a rewrite rebuilds both."""
    d = Normal(loc=torch.zeros(3), scale=torch.ones(3), var=["x"], features_shape=[3])
    calls = _count_checks(monkeypatch, type(d))
    x = torch.randn(5, 3)
    for _ in range(3):
        assert d.sample(batch_n=4)["x"].shape == (4, 3)
        with memo.scope():
            d.get_log_prob({"x": x})
    assert len(calls) == 1
    d.loc[0] = torch.tensor([0.0, 5.0, 0.0])  # in place: a new entry, checked again
    ref = torch.distributions.Normal(torch.tensor([0.0, 5.0, 0.0]), 1.0).log_prob(x).sum(-1)
    torch.testing.assert_close(d.get_log_prob({"x": x}), ref)
    assert len(calls) == 2
    assert float(d.sample(batch_n=20000)["x"][:, 1].mean()) > 4.9
    d.to(torch.float64)  # a new buffer: a new entry
    assert d.sample(batch_n=2)["x"].dtype == torch.float64
    assert len(calls) == 3


def test_a_learned_constant_is_checked_on_every_call(monkeypatch):
    """nn.Parameter constants are rebuilt per call (the optimizer moves them): nothing is kept."""
    d = Normal(loc=nn.Parameter(torch.zeros(2)), scale=1.0, var=["x"], features_shape=[2])
    calls = _count_checks(monkeypatch, type(d))
    for _ in range(3):
        d.sample(batch_n=2)
    assert len(calls) == 3 and d._constant_checked is None
