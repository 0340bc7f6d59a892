"""The conformance table can fail: the probes of the outside audit, run on the whole table.

At commit 6536634, with ``torch.nn.Module.load_state_dict`` made a no-op, 34 of
the 35 cases still passed their ``state_dict`` check. Here every case that has a
state must fail it, and the standard-normal prior must pass the kit.
"""

from __future__ import annotations

import dgmcore_families as fam
import torch
from test_conformance import CASES
from torch import nn

from dgmcore.testing import ConformanceError, check_distribution

WITH_STATE = [
    case
    for case in CASES
    if {n for n, t in case.build().state_dict().items() if t.is_floating_point()}
    - set(case.options.get("no_score_grad", ()))
]


def test_every_case_with_a_state_fails_when_load_state_dict_loads_nothing(monkeypatch):
    assert len(WITH_STATE) >= 8  # the constant families, the networks, the mixtures' weights
    monkeypatch.setattr(
        nn.Module, "load_state_dict", lambda self, *a, **k: nn.modules.module._IncompatibleKeys([], [])
    )
    passed = []
    for case in WITH_STATE:
        try:
            case.check()
        except ConformanceError as err:
            assert ": state_dict: " in str(err), (case.id, str(err))
        else:
            passed.append(case.id)
    assert passed == []


def test_the_standard_normal_prior_passes_the_kit():
    """The issue's reproducer: the kit's copy makes the constants require gradients."""
    p = fam.Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3])
    report = check_distribution(p, {}, reference=torch.distributions.Normal(torch.zeros(3), 1.0))
    assert {"rsample_grad", "score_grad", "state_dict"} <= set(report.passed)


def test_a_learned_standard_normal_prior_gets_its_gradient():
    """What the fast path must not cut: d/dmu log N(x | mu, 1) = x - mu at mu = 0."""
    p = fam.Normal(loc=nn.Parameter(torch.zeros(3)), scale=1.0, var=["z"], features_shape=[3])
    x = torch.randn(5, 3)
    p.get_log_prob({"z": x}).sum().backward()
    torch.testing.assert_close(p.loc.grad, x.sum(0))


def test_a_constant_relaxed_one_hot_passes_the_kit():
    p = fam.RelaxedOneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]), var=["x"])
    assert {"rsample_grad", "score_grad"} <= set(check_distribution(p, n_samples=500).passed)


def test_the_same_distribution_without_the_constant_cache_passes_the_kit():
    """What the fix must give: the family is right, the cache is not (memo=False skips it)."""
    p = fam.RelaxedOneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]), var=["x"], memo=False)
    assert {"rsample_grad", "score_grad", "state_dict"} <= set(check_distribution(p, n_samples=500).passed)
