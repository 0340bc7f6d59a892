"""Pixyz 0.3.3's examples vae, cvae and vi, ported with only their imports changed.

Each function is the example's code (Pixyz's own ``tests/test_example_usage.py``
version) with ``pixyz`` imports replaced by ``dgmcore`` ones, MNIST replaced by
the scikit-learn digits (``x_dim`` 64, see ``common.py``) and ``iter(loader).next()``
written ``next(iter(loader))`` (torch removed ``.next()``). What is checked: the
losses are finite, training lowers the test loss, and, for vae, cvae and vi, the
loss equals Pixyz's own (its ``Model`` terms, its ``VAE`` and ``VI`` classes) on the same
weights and the same random draws.
"""

# Pixyz's code is kept as Pixyz wrote it (super(Cls, self), str.format, unused plot results):
# ruff: noqa: UP008, UP032, B007, F841, E501

from __future__ import annotations

import pytest
import torch
from torch import nn, optim
from torch.nn import functional as F

from dgmcore import print_latex
from tests.pixyz.common import X_DIM, finite, loaders, pixyz_twin

device = "cpu"
epochs = 2


def _vae_networks(Normal, Bernoulli, x_dim, z_dim):  # noqa: N803 (the classes of either library)
    """The example's networks (cell 4), over the given library's Normal and Bernoulli."""

    class Inference(Normal):
        def __init__(self):
            super(Inference, self).__init__(cond_var=["x"], var=["z"], name="q")

            self.fc1 = nn.Linear(x_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc31 = nn.Linear(512, z_dim)
            self.fc32 = nn.Linear(512, z_dim)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            h = F.relu(self.fc2(h))
            return {"loc": self.fc31(h), "scale": F.softplus(self.fc32(h))}

    class Generator(Bernoulli):
        def __init__(self):
            super(Generator, self).__init__(cond_var=["z"], var=["x"], name="p")

            self.fc1 = nn.Linear(z_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, x_dim)

        def forward(self, z):
            h = F.relu(self.fc1(z))
            h = F.relu(self.fc2(h))
            return {"probs": torch.sigmoid(self.fc3(h))}

    return Inference, Generator


def test_run_vae():
    torch.manual_seed(1)
    train_loader, test_loader = loaders()

    from dgmcore.distributions import Bernoulli, Normal

    x_dim = X_DIM
    z_dim = 64
    Inference, Generator = _vae_networks(Normal, Bernoulli, x_dim, z_dim)

    p = Generator().to(device)
    q = Inference().to(device)
    prior = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                   var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)
    print(prior)
    print_latex(prior)

    from dgmcore.losses import Expectation as E
    from dgmcore.losses import KullbackLeibler, LogProb

    loss = (KullbackLeibler(q, prior) - E(q, LogProb(p))).mean()
    print_latex(loss)

    from dgmcore.models import Model

    model = Model(loss=loss, distributions=[p, q],
                  optimizer=optim.Adam, optimizer_params={"lr": 1e-3})
    print(model)

    def train(epoch):
        train_loss = 0
        for x, _ in train_loader:
            x = x.to(device)
            loss = model.train({"x": x})
            train_loss += loss
        train_loss = train_loss * train_loader.batch_size / len(train_loader.dataset)
        print('Epoch: {} Train loss: {:.4f}'.format(epoch, train_loss))
        return train_loss

    def test(epoch):
        test_loss = 0
        for x, _ in test_loader:
            x = x.to(device)
            loss = model.test({"x": x})
            test_loss += loss
        test_loss = test_loss * test_loader.batch_size / len(test_loader.dataset)
        print('Test loss: {:.4f}'.format(test_loss))
        return test_loss

    def plot_reconstrunction(x):
        with torch.no_grad():
            z = q.sample({"x": x}, return_all=False)
            recon_batch = p.sample_mean(z).view(-1, 1, 8, 8)
            comparison = torch.cat([x.view(-1, 1, 8, 8), recon_batch]).cpu()
            return comparison

    def plot_image_from_latent(z_sample):
        with torch.no_grad():
            sample = p.sample_mean({"z": z_sample}).view(-1, 1, 8, 8).cpu()
            return sample

    z_sample = 0.5 * torch.randn(64, z_dim).to(device)
    _x, _ = next(iter(test_loader))
    _x = _x.to(device)

    before = test(0)
    losses = []
    for epoch in range(1, epochs + 1):
        train_loss = train(epoch)
        test_loss = test(epoch)
        losses.append((train_loss, test_loss))
        recon = plot_reconstrunction(_x[:8])
        sample = plot_image_from_latent(z_sample)

    assert recon.shape == (16, 1, 8, 8) and sample.shape == (64, 1, 8, 8)
    assert finite(before, *[v for pair in losses for v in pair])
    assert losses[-1][1] < before - 5  # nats per digit: the untrained VAE scores about 45

    # Pixyz itself, on the same weights and the same draws, computes the same loss
    pixyz = pytest.importorskip("pixyz")
    from pixyz import distributions as pd
    from pixyz import losses as pl

    PInference, PGenerator = _vae_networks(pd.Normal, pd.Bernoulli, x_dim, z_dim)
    pq, pp = PInference(), PGenerator()
    pq.load_state_dict(q.state_dict())
    pp.load_state_dict(p.state_dict())
    pprior = pd.Normal(loc=torch.tensor(0.), scale=torch.tensor(1.), var=["z"],
                       features_shape=[z_dim], name="p_{prior}")
    ploss = (pl.KullbackLeibler(pq, pprior) - pl.Expectation(pq, pl.LogProb(pp))).mean()
    assert pixyz.__version__ == "0.3.3"
    for x, _ in test_loader:
        torch.manual_seed(7)
        ours = loss.eval({"x": x})
        torch.manual_seed(7)
        theirs = ploss.eval({"x": x})
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-4)


def test_run_cvae():
    torch.manual_seed(1)
    train_loader, test_loader = loaders()

    from dgmcore.distributions import Bernoulli, Normal
    from dgmcore.losses import KullbackLeibler
    from dgmcore.models import VAE

    x_dim = X_DIM
    y_dim = 10
    z_dim = 64

    # inference model q(z|x,y)
    class Inference(Normal):
        def __init__(self):
            super(Inference, self).__init__(cond_var=["x", "y"], var=["z"], name="q")

            self.fc1 = nn.Linear(x_dim + y_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc31 = nn.Linear(512, z_dim)
            self.fc32 = nn.Linear(512, z_dim)

        def forward(self, x, y):
            h = F.relu(self.fc1(torch.cat([x, y], 1)))
            h = F.relu(self.fc2(h))
            return {"loc": self.fc31(h), "scale": F.softplus(self.fc32(h))}

    # generative model p(x|z,y)
    class Generator(Bernoulli):
        def __init__(self):
            super(Generator, self).__init__(cond_var=["z", "y"], var=["x"], name="p")

            self.fc1 = nn.Linear(z_dim + y_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, x_dim)

        def forward(self, z, y):
            h = F.relu(self.fc1(torch.cat([z, y], 1)))
            h = F.relu(self.fc2(h))
            return {"probs": torch.sigmoid(self.fc3(h))}

    p = Generator().to(device)
    q = Inference().to(device)
    prior = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                   var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)
    print(prior)
    print_latex(prior)
    print(p)
    print_latex(p)
    print(q)
    print_latex(q)

    kl = KullbackLeibler(q, prior)
    print(kl)
    print_latex(kl)

    model = VAE(q, p, regularizer=kl, optimizer=optim.Adam, optimizer_params={"lr": 1e-3})
    print(model)
    print_latex(model)

    def train(epoch):
        train_loss = 0
        for x, y in train_loader:
            x = x.to(device)
            y = torch.eye(10)[y].to(device)
            loss = model.train({"x": x, "y": y})
            train_loss += loss
        train_loss = train_loss * train_loader.batch_size / len(train_loader.dataset)
        print('Epoch: {} Train loss: {:.4f}'.format(epoch, train_loss))
        return train_loss

    def test(epoch):
        test_loss = 0
        for x, y in test_loader:
            x = x.to(device)
            y = torch.eye(10)[y].to(device)
            loss = model.test({"x": x, "y": y})
            test_loss += loss
        test_loss = test_loss * test_loader.batch_size / len(test_loader.dataset)
        print('Test loss: {:.4f}'.format(test_loss))
        return test_loss

    def plot_reconstrunction(x, y):
        with torch.no_grad():
            z = q.sample({"x": x, "y": y}, return_all=False)
            z.update({"y": y})
            recon_batch = p.sample_mean(z).view(-1, 1, 8, 8)
            recon = torch.cat([x.view(-1, 1, 8, 8), recon_batch]).cpu()
            return recon

    def plot_image_from_latent(z, y):
        with torch.no_grad():
            sample = p.sample_mean({"z": z, "y": y}).view(-1, 1, 8, 8).cpu()
            return sample

    def plot_reconstrunction_changing_y(x, y):
        y_change = torch.eye(10)[range(7)].to(device)
        batch_dummy = torch.ones(x.size(0))[:, None].to(device)
        recon_all = []
        with torch.no_grad():
            for _y in y_change:
                z = q.sample({"x": x, "y": y}, return_all=False)
                z.update({"y": batch_dummy * _y[None, :]})
                recon_batch = p.sample_mean(z).view(-1, 1, 8, 8)
                recon_all.append(recon_batch)
            recon_changing_y = torch.cat(recon_all)
            recon_changing_y = torch.cat([x.view(-1, 1, 8, 8), recon_changing_y]).cpu()
            return recon_changing_y

    plot_number = 1
    z_sample = 0.5 * torch.randn(64, z_dim).to(device)
    y_sample = torch.eye(10)[[plot_number] * 64].to(device)
    _x, _y = next(iter(test_loader))
    _x = _x.to(device)
    _y = torch.eye(10)[_y].to(device)

    before = test(0)
    for epoch in range(1, epochs + 1):
        train_loss = train(epoch)
        test_loss = test(epoch)
        recon = plot_reconstrunction(_x[:8], _y[:8])
        sample = plot_image_from_latent(z_sample, y_sample)
        recon_changing_y = plot_reconstrunction_changing_y(_x[:8], _y[:8])

    assert recon_changing_y.shape == (64, 1, 8, 8) and sample.shape == (64, 1, 8, 8)
    assert finite(before, train_loss, test_loss) and test_loss < before - 5

    # Pixyz's VAE class computes the same test loss on the same weights and the same draws
    from pixyz import distributions as pd
    from pixyz import losses as pl
    from pixyz import models as pm

    pq, pp = pixyz_twin(q, pd.Normal), pixyz_twin(p, pd.Bernoulli)
    pprior = pd.Normal(loc=torch.tensor(0.), scale=torch.tensor(1.), var=["z"],
                       features_shape=[z_dim], name="p_{prior}")
    theirs = pm.VAE(pq, pp, regularizer=pl.KullbackLeibler(pq, pprior), optimizer=optim.Adam)
    for x, y in test_loader:
        data = {"x": x, "y": torch.eye(10)[y]}
        torch.manual_seed(5)
        ours = model.test(data)
        torch.manual_seed(5)
        torch.testing.assert_close(ours, theirs.test(data), rtol=1e-5, atol=1e-4)


def test_run_vi():
    torch.manual_seed(1)
    train_loader, test_loader = loaders()

    from dgmcore.distributions import Bernoulli, Normal
    from dgmcore.models import VI

    x_dim = X_DIM
    z_dim = 64
    Inference, Generator = _vae_networks(Normal, Bernoulli, x_dim, z_dim)

    p = Generator().to(device)
    q = Inference().to(device)
    prior = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                   var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)

    p_joint = p * prior
    print(p_joint)
    print_latex(p_joint)
    print(q)
    print_latex(q)

    model = VI(p_joint, q, optimizer=optim.Adam, optimizer_params={"lr": 1e-3})
    print(model)
    print_latex(model)

    def train(epoch):
        train_loss = 0
        for x, _ in train_loader:
            x = x.to(device)
            loss = model.train({"x": x})
            train_loss += loss
        train_loss = train_loss * train_loader.batch_size / len(train_loader.dataset)
        print('Epoch: {} Train loss: {:.4f}'.format(epoch, train_loss))
        return train_loss

    def test(epoch):
        test_loss = 0
        for x, _ in test_loader:
            x = x.to(device)
            loss = model.test({"x": x})
            test_loss += loss
        test_loss = test_loss * test_loader.batch_size / len(test_loader.dataset)
        print('Test loss: {:.4f}'.format(test_loss))
        return test_loss

    before = test(0)
    for epoch in range(1, epochs + 1):
        train_loss = train(epoch)
        test_loss = test(epoch)
    with torch.no_grad():
        z = q.sample({"x": next(iter(test_loader))[0]}, return_all=False)
        recon_batch = p.sample_mean(z).view(-1, 1, 8, 8)
    assert recon_batch.shape[1:] == (1, 8, 8)
    assert finite(before, train_loss, test_loss) and test_loss < before - 5

    # Pixyz's VI class computes the same test loss on the same weights and draws
    from pixyz import distributions as pd
    from pixyz import models as pm

    pprior = pd.Normal(loc=torch.tensor(0.), scale=torch.tensor(1.), var=["z"],
                       features_shape=[z_dim], name="p_{prior}")
    theirs = pm.VI(pixyz_twin(p, pd.Bernoulli) * pprior, pixyz_twin(q, pd.Normal), optimizer=optim.Adam)
    for x, _ in test_loader:
        torch.manual_seed(5)
        ours = model.test({"x": x})
        torch.manual_seed(5)
        torch.testing.assert_close(ours, theirs.test({"x": x}), rtol=1e-5, atol=1e-4)
