"""The kit's checks can fail: state_dict round trips, per-leaf gradients, the caller's skips.

Each test breaks one thing on purpose (a ``load_state_dict`` that loads nothing,
one detached parameter) and expects the check that concerns it to fail, naming
the culprit; at commit 6536634 these broken families passed.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import InputTypeError
from dgmcore.testing import CHECKS, Case, ConformanceError, check_distribution

D = torch.distributions


class Normal(ParametricDistribution):
    family = torch.distributions.Normal
    params = ("loc", "scale")


class NoLoad(Normal):
    """``load_state_dict`` that accepts the state and loads nothing."""

    def load_state_dict(self, state_dict, strict=True, assign=False):
        return nn.modules.module._IncompatibleKeys([], [])


class DetachedScale(Normal):
    """Cuts the graph through one parameter: the log-density never reaches ``scale``."""

    def make_dist(self, params, validate_args=False):
        return self.family(params["loc"], params["scale"].detach(), validate_args=validate_args)


class NetNormal(Normal):
    def __init__(self):
        super().__init__(var=["x"], cond_var=["h"])
        self.net = nn.Linear(3, 3)
        self.log_scale = nn.Parameter(torch.zeros(3))

    def forward(self, h):
        return {"loc": self.net(h), "scale": self.log_scale.exp().expand_as(h)}


class DetachedNet(NetNormal):
    def forward(self, h):
        return {"loc": self.net(h), "scale": self.log_scale.detach().exp().expand_as(h)}


def test_a_load_that_loads_nothing_fails_through_a_case():
    """Through a Case the factory builds an identical instance: the kit shifts its tensors first."""
    case = Case("NoLoad", lambda: NoLoad(loc=0.5, scale=2.0, var=["x"], features_shape=[3]))
    with pytest.raises(ConformanceError, match="state_dict: log-density after a state_dict round trip"):
        case.check()
    good = Case("Normal", lambda: Normal(loc=0.5, scale=2.0, var=["x"], features_shape=[3]))
    assert "state_dict" in good.check().passed


def test_a_load_that_loads_nothing_fails_without_a_factory():
    with pytest.raises(ConformanceError, match="state_dict"):
        check_distribution(NoLoad(loc=0.5, scale=2.0, var=["x"], features_shape=[3]))


def test_a_network_that_loads_nothing_fails():
    class NoLoadNet(NetNormal):
        load_state_dict = NoLoad.load_state_dict

    case = Case("NoLoadNet", NoLoadNet, lambda: {"h": torch.randn(4, 3)})
    with pytest.raises(ConformanceError, match="state_dict"):
        case.check()
    assert "state_dict" in Case("Net", NetNormal, lambda: {"h": torch.randn(4, 3)}).check().passed


def test_an_empty_state_is_reported_as_not_applicable():
    p = Normal(loc="m", scale="s", var=["x"], cond_var=["m", "s"])
    report = check_distribution(p, {"m": torch.randn(4, 3), "s": torch.rand(4, 3) + 0.5})
    assert "state_dict" not in report.passed
    assert report.skipped["state_dict"] == "no floating-point tensor in state_dict() to round trip"


def test_one_detached_input_fails_the_gradient_check_and_is_named():
    p = DetachedScale(loc="m", scale="s", var=["x"], cond_var=["m", "s"])
    inputs = {"m": torch.randn(4, 3), "s": torch.rand(4, 3) + 0.5}
    with pytest.raises(ConformanceError, match="rsample_grad: rsample: no gradient reaches input 's'"):
        check_distribution(p, inputs, skip=["state_dict"])
    report = check_distribution(Normal(loc="m", scale="s", var=["x"], cond_var=["m", "s"]), inputs)
    assert {"rsample_grad", "score_grad"} <= set(report.passed)


def test_one_detached_constant_fails_the_gradient_check_and_is_named():
    p = DetachedScale(loc=0.5, scale=2.0, var=["x"], features_shape=[3])
    with pytest.raises(ConformanceError, match="no gradient reaches constant 'scale'"):
        check_distribution(p)


def test_one_detached_network_parameter_fails_the_gradient_check_and_is_named():
    with pytest.raises(ConformanceError, match="no gradient reaches parameter 'log_scale'"):
        check_distribution(DetachedNet(), {"h": torch.randn(4, 3)})
    assert "score_grad" in check_distribution(NetNormal(), {"h": torch.randn(4, 3)}).passed


def test_no_rsample_grad_is_itself_checked():
    p = Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"])
    inputs = {"m": torch.randn(4, 3)}
    with pytest.raises(ConformanceError, match="declared to get no gradient"):
        check_distribution(p, inputs, no_rsample_grad=["m"])
    with pytest.raises(InputTypeError, match="no_rsample_grad / no_score_grad name"):
        check_distribution(p, inputs, no_rsample_grad=["nonexistent"])


def test_the_report_lists_the_checks_the_caller_skipped():
    p = Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"])
    report = check_distribution(p, {"m": torch.randn(4, 3)}, skip=["moments", "text"])
    assert {"mean", "variance", "text"} <= set(report.skipped)
    assert report.skipped["text"] == "skipped by the caller (skip=...)"
    assert not {"mean", "variance", "text"} & set(report.passed)
    every = check_distribution(p, {"m": torch.randn(4, 3)}, skip=CHECKS)
    assert every.passed == [] and set(every.skipped) == set(CHECKS)


def test_a_constant_normal_that_is_not_standard_passes():
    """Constants require gradients in the kit's copy; a N(0.5, 2) prior passes every check."""
    report = check_distribution(
        Normal(loc=0.5, scale=2.0, var=["z"], features_shape=[3]),
        reference=D.Normal(torch.full((3,), 0.5), 2.0),
    )
    assert {"rsample_grad", "score_grad", "state_dict"} <= set(report.passed)


def test_the_variance_check_holds_for_a_fair_coin():
    """mu_4 = sigma^4 for Bernoulli(1/2): the first-order standard error is 0 there, and the kit
    used to report 0.250125 against 0.25 as 10 standard errors off (a one-hot over 3 classes)."""

    class Bernoulli(ParametricDistribution):
        family = torch.distributions.Bernoulli
        params = ("probs",)

    fair = Bernoulli(probs=0.5, var=["b"], features_shape=[4])
    report = check_distribution(fair, reference=D.Bernoulli(torch.full((4,), 0.5)), n_samples=2000)
    assert "variance" in report.passed
    biased = Bernoulli(probs=0.5, var=["b"], features_shape=[4])
    biased.sample_variance = lambda x_dict=None: torch.full((4,), 0.25 * 1.05)
    with pytest.raises(ConformanceError, match="variance: sample variance"):
        check_distribution(biased, n_samples=2000, skip=["reference"])
