"""Model trains the paper's VAE on the scikit-learn digits: the test loss falls by 20% in 3 epochs."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.nn import functional as F

from dgmcore.losses import KullbackLeibler
from dgmcore.models import Model
from tests.families import Bernoulli, Normal

Z = 8


class Inference(Normal):
    def __init__(self):
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.hidden = nn.Linear(64, 128)
        self.out = nn.Linear(128, 2 * Z)

    def forward(self, x):
        h = self.out(F.relu(self.hidden(x)))
        return {"loc": h[..., :Z], "scale": F.softplus(h[..., Z:]) + 1e-4}


class Generator(Bernoulli):
    def __init__(self):
        super().__init__(var=["x"], cond_var=["z"])
        self.hidden = nn.Linear(Z, 128)
        self.out = nn.Linear(128, 64)

    def forward(self, z):
        return {"logits": self.out(F.relu(self.hidden(z)))}


def test_vae_on_digits_test_loss_falls_by_a_fifth_in_three_epochs():
    torch.manual_seed(0)
    data = torch.tensor(load_digits().data, dtype=torch.float32) / 16.0  # 8x8 images in [0, 1]
    data = data[torch.randperm(len(data))]
    train, test = data[:1500], {"x": data[1500:]}
    assert train.shape[1] == 64

    q, p = Inference(), Generator()
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[Z], name="p_{prior}")
    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()
    model = Model(loss, distributions=[q, p], optimizer=torch.optim.Adam, optimizer_params={"lr": 1e-3})

    before = model.test(test).item()
    train_losses = []
    for _ in range(3):
        for i in range(0, len(train), 64):
            train_losses.append(model.train({"x": train[i : i + 64]}).item())
    after = model.test(test).item()
    assert after <= 0.8 * before, (before, after)
    assert sum(train_losses[-10:]) < sum(train_losses[:10])
