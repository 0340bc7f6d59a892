"""An expectation over an unconditioned distribution draws independently per batch element."""

from __future__ import annotations

import torch

from dgmcore.distributions import ParametricDistribution
from dgmcore.losses import Expectation, LogProb


class _Normal(ParametricDistribution):
    family = torch.distributions.Normal
    params = ("loc", "scale")


def test_expectation_over_a_prior_draws_one_sample_per_batch_element() -> None:
    torch.manual_seed(0)
    prior = _Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
    lik = _Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
    loss = Expectation(prior, LogProb(lik), sample_shape=(3,))
    x = torch.zeros(5, 2)
    value, samples = loss.eval({"x": x}, return_dict=True)
    assert samples["z"].shape == (3, 5, 2)
    # the draws differ across the batch (shared draws would give identical columns)
    assert not torch.allclose(samples["z"][:, 0], samples["z"][:, 1])
    # and the value is the average over the sample dim of the hand-computed log-density
    ref = torch.distributions.Normal(samples["z"], 1.0).log_prob(x).sum(-1).mean(0)
    torch.testing.assert_close(value, ref)
