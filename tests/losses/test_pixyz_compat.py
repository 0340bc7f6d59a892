"""Objectives written for Pixyz run unchanged: one sample is drawn as (batch, features)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from dgmcore.errors import ForwardError
from dgmcore.losses import KullbackLeibler
from dgmcore.models import Model
from tests.families import Bernoulli, Normal


class CondEncoder(Normal):
    """q(z|x,y), written as in Pixyz's CVAE example."""

    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x", "y"], name="q")
        self.fc1 = nn.Linear(6 + 3, 16)
        self.fc2 = nn.Linear(16, 2 * 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.fc2(F.relu(self.fc1(torch.cat([x, y], 1))))
        return {"loc": h[:, :2], "scale": F.softplus(h[:, 2:]) + 1e-3}


class CondDecoder(Bernoulli):
    """p(x|z,y), written as in Pixyz's CVAE example (concatenates along dimension 1)."""

    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z", "y"], name="p")
        self.fc1 = nn.Linear(2 + 3, 16)
        self.fc2 = nn.Linear(16, 6)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.fc2(F.relu(self.fc1(torch.cat([z, y], 1))))}


def test_a_pixyz_style_cvae_trains_on_the_paper_objective():
    torch.manual_seed(0)
    q, p = CondEncoder(), CondDecoder()
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_{prior}")
    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    model = Model(loss, distributions=[p, q], optimizer_params={"lr": 1e-2})
    y = F.one_hot(torch.arange(32) % 3, 3).float()
    x = torch.bernoulli(torch.full((32, 6), 0.5))
    data = {"x": x, "y": y}
    first = model.test(data)
    for _ in range(100):
        model.train(data)
    assert torch.isfinite(first) and model.test(data) < first


def test_a_forward_given_sample_dims_is_told_to_act_on_the_last_dimension():
    q, p = CondEncoder(), CondDecoder()
    loss = p.log_prob().expectation(q, sample_shape=(4,))
    data = {"x": torch.zeros(5, 6), "y": torch.zeros(5, 3)}
    with pytest.raises(ForwardError, match=r"1 sample dim\(s\) in front of the batch.*dim=-1"):
        loss.eval(data)
