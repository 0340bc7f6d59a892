"""Pixyz 0.3.3's English tutorials 00-03, cell by cell, with only their imports changed.

Each test runs one tutorial's code cells in order (``# cell N`` marks them),
with ``pixyz`` imports replaced by ``dgmcore`` ones and MNIST by the scikit-learn
digits (``common.py``). The values the tutorials print are checked against
closed forms or torch.distributions computed here, since they come from random
draws. Tutorial 00's Loss and Model cells are the same VAE objective as tutorial
03's and are checked the same way. Cell 10 of tutorial 01 (a plain number for a
conditioning variable) is a typed error naming the variable (D8).
"""

# Pixyz's code is kept as Pixyz wrote it (super(Cls, self), str.format):
# ruff: noqa: UP008, UP032, E501, N806

from __future__ import annotations

import math

import pytest
import torch
from torch import nn, optim
from torch.nn import functional as F

from dgmcore import print_latex
from tests.pixyz.common import X_DIM, finite, loaders

device = "cpu"
N = torch.distributions.Normal


def test_tutorial_00_overview_a_vae_through_the_three_apis():
    torch.manual_seed(1)
    train_loader, test_loader = loaders()
    # cell 2
    from dgmcore.distributions import Bernoulli, Normal

    # cell 3: prior
    z_dim = 64
    prior = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                   var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)
    print(prior)
    print_latex(prior)

    # cell 4
    x_dim = X_DIM

    class Generator(Bernoulli):
        def __init__(self):
            super(Generator, self).__init__(var=["x"], cond_var=["z"], name="p")

            self.fc1 = nn.Linear(z_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, x_dim)

        def forward(self, z):
            h = F.relu(self.fc1(z))
            h = F.relu(self.fc2(h))
            return {"probs": torch.sigmoid(self.fc3(h))}
    p = Generator().to(device)
    print(p)
    print_latex(p)

    # cell 5
    class Inference(Normal):
        def __init__(self):
            super(Inference, self).__init__(var=["z"], cond_var=["x"], name="q")

            self.fc1 = nn.Linear(x_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc31 = nn.Linear(512, z_dim)
            self.fc32 = nn.Linear(512, z_dim)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            h = F.relu(self.fc2(h))
            return {"loc": self.fc31(h), "scale": F.softplus(self.fc32(h))}

    q = Inference().to(device)
    print(q)
    print_latex(q)

    # cell 6: z ~ p(z)
    prior_samples = prior.sample(batch_n=1)
    print(prior_samples)
    print(prior_samples.keys())
    print(prior_samples['z'].shape)
    assert list(prior_samples.keys()) == ["z"] and prior_samples["z"].shape == (1, z_dim)

    # cell 7: the joint
    p_joint = p * prior
    print(p_joint)
    print_latex(p_joint)
    assert p_joint.prob_factorized_text == "p(x|z)p_{prior}(z)"

    # cell 8: x, z ~ p(x, z)
    p_joint_samples = p_joint.sample(batch_n=1)
    assert sorted(p_joint_samples) == ["x", "z"] and p_joint_samples["x"].shape == (1, x_dim)
    assert set(p_joint_samples["x"].unique().tolist()) <= {0.0, 1.0}

    # the Loss and Model cells (the VAE objective of tutorial 03)
    from dgmcore.losses import Expectation as E
    from dgmcore.losses import KullbackLeibler, LogProb
    from dgmcore.models import Model

    loss = (KullbackLeibler(q, prior) - E(q, LogProb(p))).mean()
    print_latex(loss)
    model = Model(loss=loss, distributions=[p, q], optimizer=optim.Adam, optimizer_params={"lr": 1e-3})

    def train(epoch):
        train_loss = 0
        for x, _ in train_loader:
            x = x.to(device)
            loss = model.train({"x": x})
            train_loss += loss
        return train_loss * train_loader.batch_size / len(train_loader.dataset)

    def test(epoch):
        test_loss = 0
        for x, _ in test_loader:
            x = x.to(device)
            loss = model.test({"x": x})
            test_loss += loss
        return test_loss * test_loader.batch_size / len(test_loader.dataset)

    def plot_reconstrunction(x):
        with torch.no_grad():
            z = q.sample({"x": x}, return_all=False)
            recon_batch = p.sample_mean(z).view(-1, 1, 8, 8)
            return torch.cat([x.view(-1, 1, 8, 8), recon_batch]).cpu()

    def plot_image_from_latent(z_sample):
        with torch.no_grad():
            return p.sample_mean({"z": z_sample}).view(-1, 1, 8, 8).cpu()

    # the last cell
    epochs = 2
    z_sample = 0.5 * torch.randn(64, z_dim).to(device)
    _x, _ = next(iter(test_loader))
    _x = _x.to(device)
    before = test(0)
    for epoch in range(1, epochs + 1):
        train_loss = train(epoch)
        test_loss = test(epoch)
        recon = plot_reconstrunction(_x[:8])
        sample = plot_image_from_latent(z_sample)
        print('Epoch: {}'.format(epoch))
    assert recon.shape == (16, 1, 8, 8) and sample.shape == (64, 1, 8, 8)
    assert finite(before, train_loss, test_loss) and test_loss < before - 5


def test_tutorial_01_distribution_api():
    torch.manual_seed(1)
    # cell 3
    from dgmcore.distributions import Normal

    x_dim = 50
    p1_nor_x = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.), var=['x'], features_shape=[x_dim], name='p_{1}')
    # cell 4
    print(p1_nor_x.distribution_name)
    print(p1_nor_x.prob_text)
    assert (p1_nor_x.distribution_name, p1_nor_x.prob_text) == ("Normal", "p_{1}(x)")
    # cells 5-6
    print(p1_nor_x)
    print_latex(p1_nor_x)
    # cell 7
    p1_nor_x_samples = p1_nor_x.sample()
    print(p1_nor_x_samples)
    print(p1_nor_x_samples["x"])
    assert p1_nor_x_samples["x"].shape == (1, x_dim)

    # cells 8-9
    x_dim = 50
    p1_nor_x__mu = Normal(loc='mu_var', scale=torch.tensor(1.), var=['x'], cond_var=['mu_var'], features_shape=[x_dim])
    print(p1_nor_x__mu)
    print_latex(p1_nor_x__mu)
    # (cell 10, sample({"mu_var": 0}): see the next test)

    # cells 11-12
    from dgmcore.distributions import Bernoulli
    p2_ber_mu = Bernoulli(probs=torch.tensor(0.3), var=['mu_var'], features_shape=[x_dim])
    print(p2_ber_mu)
    print(p2_ber_mu.sample())
    print_latex(p2_ber_mu)

    # cells 13-14: the joint p(x, mu_var) = p(x|mu_var) p(mu_var)
    p_joint_mu_x = p1_nor_x__mu * p2_ber_mu
    print(p_joint_mu_x)
    print_latex(p_joint_mu_x)
    s = p_joint_mu_x.sample()
    assert s["mu_var"].shape == s["x"].shape == (1, x_dim)
    ref = (torch.distributions.Bernoulli(0.3).log_prob(s["mu_var"]) + N(s["mu_var"], 1.0).log_prob(s["x"])).sum(-1)
    torch.testing.assert_close(p_joint_mu_x.get_log_prob(s), ref)

    # cell 15: a network distribution p(a|x)
    a_dim = 20

    class ProbNorAgivX(Normal):
        """
        Probability distrituion Normal A given X
        p(a) = {\\cal N}(a; \\mu=f(x;\\theta),\\sigma^2=g(x;\\theta)
        loc and scale are parameterized by theta given x
        """
        def __init__(self):
            super(ProbNorAgivX, self).__init__(var=['a'], cond_var=['x'])

            self.fc1 = nn.Linear(x_dim, 10)
            self.fc_loc = nn.Linear(10, a_dim)
            self.fc_scale = nn.Linear(10, a_dim)

        def forward(self, x):
            h1 = F.relu(self.fc1(x))
            return {'loc': self.fc_loc(h1), 'scale': F.softplus(self.fc_scale(h1))}
    p_nor_a__x = ProbNorAgivX()
    # cell 16
    print(p_nor_a__x)
    print_latex(p_nor_a__x)
    # cells 17-18
    x_samples = torch.randn(1, x_dim)
    p_nor_a__x_samples = p_nor_a__x.sample({'x': x_samples})
    print(p_nor_a__x_samples)
    print(p_nor_a__x_samples['a'])
    print(p_nor_a__x_samples['x'])
    assert p_nor_a__x_samples['x'] is x_samples and p_nor_a__x_samples['a'].shape == (1, a_dim)


def test_tutorial_01_cell_10_a_number_for_a_conditioning_variable():
    from dgmcore.distributions import Normal

    p1_nor_x__mu = Normal(loc='mu_var', scale=torch.tensor(1.), var=['x'], cond_var=['mu_var'], features_shape=[50])
    out = p1_nor_x__mu.sample({"mu_var": 0})
    assert out["x"].shape == (1, 50)


def test_tutorial_02_loss_api():
    torch.manual_seed(1)
    # cell 2
    from dgmcore.distributions import Normal

    # cells 3-4
    x_dim = 5
    p_nor_x = Normal(var=['x'], loc=torch.tensor(0.), scale=torch.tensor(1.), features_shape=[x_dim])
    print(p_nor_x)
    print_latex(p_nor_x)
    observed_x_num = 100
    observed_x = torch.randn(observed_x_num, x_dim)

    # cells 5-8: log-likelihood
    from dgmcore.losses import LogProb
    log_likelihood_x = LogProb(p_nor_x)
    print_latex(log_likelihood_x)
    print(log_likelihood_x.eval({'x': observed_x}))
    assert len(log_likelihood_x.eval({'x': observed_x})) == observed_x_num
    total = log_likelihood_x.eval({'x': observed_x}).sum()
    torch.testing.assert_close(total, N(0.0, 1.0).log_prob(observed_x).sum())
    torch.testing.assert_close(p_nor_x.log_prob().eval({'x': observed_x}).sum(), total)

    # cells 9-12: KL[q || p] between N(5, 0.1^2) and N(0, 1) over 10 features
    x_dim = 10
    p_nor_x = Normal(var=['x'], loc=torch.tensor(0.), scale=torch.tensor(1.), features_shape=[x_dim])
    print_latex(p_nor_x)
    q_nor_x = Normal(var=['x'], loc=torch.tensor(5.), scale=torch.tensor(0.1), features_shape=[x_dim], name='q')
    print_latex(q_nor_x)
    from dgmcore.losses import KullbackLeibler
    kl_q_p = KullbackLeibler(q_nor_x, p_nor_x)
    print_latex(kl_q_p)
    closed_form = 10 * (math.log(1 / 0.1) + (0.1**2 + 5**2) / 2 - 0.5)  # 143.0759, as Pixyz prints
    assert kl_q_p.eval().item() == pytest.approx(closed_form, rel=1e-5) == pytest.approx(143.0759, abs=1e-3)

    # cells 13-16: E_q(z|x)[log p(x|z)] with q = N(x, 1), p = N(z, 1): -10 log sqrt(2 pi) - 10 (1/2 + 1/2)... in mean
    q_nor_z__x = Normal(loc="x", scale=torch.tensor(1.), var=["z"], cond_var=["x"],
                        features_shape=[10], name='q')  # q(z|x)
    p_nor_x__z = Normal(loc="z", scale=torch.tensor(1.), var=["x"], cond_var=["z"],
                        features_shape=[10])  # p(x|z)
    p_log_likelihood = LogProb(p_nor_x__z)
    print_latex(p_log_likelihood)
    from dgmcore.losses import Expectation as E
    E_q_logprob_p = E(q_nor_z__x, LogProb(p_nor_x__z))
    print_latex(E_q_logprob_p)
    sample_x = torch.randn(2, 10)
    value = E_q_logprob_p.eval({'x': sample_x})
    assert value.shape == (2,)
    # log N(x | z, 1) with z - x ~ N(0, 1): -(z-x)^2/2 - log sqrt(2 pi), a chi-square(10)/2 below -10 log sqrt(2 pi)
    expected = -10 * 0.5 * math.log(2 * math.pi) - 10 / 2
    many = E(q_nor_z__x, LogProb(p_nor_x__z), sample_shape=(20000,)).eval({'x': sample_x})
    torch.testing.assert_close(many, torch.full((2,), expected), atol=0.1, rtol=0)

    # cells 17-20: the mean over the batch
    observed_x_num = 100
    x_dim = 5
    observed_x = torch.randn(observed_x_num, x_dim)
    p_nor_x = Normal(var=['x'], loc=torch.tensor(0.), scale=torch.tensor(1.), features_shape=[x_dim])
    mean_log_likelihood_x = LogProb(p_nor_x).mean()
    print_latex(mean_log_likelihood_x)
    torch.testing.assert_close(
        mean_log_likelihood_x.eval({'x': observed_x}), N(0.0, 1.0).log_prob(observed_x).sum(-1).mean()
    )

    # cells 21-23: the ELBO-like objective, combined from losses
    p_nor_x__z = Normal(loc="z", scale=torch.tensor(1.), var=["x"], cond_var=["z"], features_shape=[10])
    p_nor_z = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.), var=["z"], features_shape=[10])
    q_nor_z__x = Normal(loc="x", scale=torch.tensor(1.), var=["z"], cond_var=["x"], features_shape=[10], name='q')
    logprob_p_x__z = LogProb(p_nor_x__z)  # input_var: x, z
    E_q_z__x_logprob_p__z = E(q_nor_z__x, logprob_p_x__z)
    KL_q_z__x_p_z = KullbackLeibler(q_nor_z__x, p_nor_z)
    total_loss = E_q_z__x_logprob_p__z - KL_q_z__x_p_z
    total_loss = total_loss.mean()
    print_latex(total_loss)
    observed_x_num = 100
    x_dim = 10
    observed_x = torch.randn(observed_x_num, x_dim)
    value = total_loss.eval({'x': observed_x})
    # closed forms: E term as above; KL[N(x, 1) || N(0, 1)] = |x|^2 / 2
    exact = expected - (observed_x**2).sum(-1).mean() / 2
    assert value.shape == () and abs(value.item() - exact.item()) < 1.0  # one draw per x, 100 x's


def test_tutorial_03_model_api():
    torch.manual_seed(1)
    train_loader, test_loader = loaders(batch_size=64)
    # cell 3
    from dgmcore.distributions import Bernoulli, Normal

    x_dim = X_DIM
    z_dim = 64

    class Inference(Normal):
        def __init__(self):
            super(Inference, self).__init__(var=["z"], cond_var=["x"], name="q")

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
            super(Generator, self).__init__(var=["x"], cond_var=["z"], name="p")

            self.fc1 = nn.Linear(z_dim, 512)
            self.fc2 = nn.Linear(512, 512)
            self.fc3 = nn.Linear(512, x_dim)

        def forward(self, z):
            h = F.relu(self.fc1(z))
            h = F.relu(self.fc2(h))
            return {"probs": torch.sigmoid(self.fc3(h))}

    gen_ber_x__z = Generator().to(device)
    infer_nor_z__x = Inference().to(device)
    prior_nor_z = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                         var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)

    # cell 4
    from dgmcore.losses import Expectation as E
    from dgmcore.losses import KullbackLeibler, LogProb
    logprob_gen_x__z = LogProb(gen_ber_x__z)
    E_infer_z__x_logprob_gen_x__z = E(infer_nor_z__x, logprob_gen_x__z)
    KL_infer_nor_z__x_prior_nor_z = KullbackLeibler(infer_nor_z__x, prior_nor_z)
    total_loss = KL_infer_nor_z__x_prior_nor_z - E_infer_z__x_logprob_gen_x__z
    total_loss = total_loss.mean()
    print_latex(total_loss)

    # cell 5
    from dgmcore.models import Model
    optimizer = optim.Adam
    optimizer_params = {'lr': 1e-3}
    vae_model = Model(loss=total_loss,
                      distributions=[gen_ber_x__z, infer_nor_z__x],
                      optimizer=optimizer,
                      optimizer_params=optimizer_params
                      )

    # cell 6
    epoch_loss = []
    for epoch in range(3):
        train_loss = 0
        for x, _ in train_loader:
            x = x.to(device)
            loss = vae_model.train({"x": x})
            train_loss += loss
        train_loss = train_loss * train_loader.batch_size / len(train_loader.dataset)
        print('Epoch {}, Loss {} '.format(epoch, train_loss))
        epoch_loss.append(train_loss)
    assert finite(*epoch_loss) and epoch_loss[0] > epoch_loss[1] > epoch_loss[2]

    # cells 7-10: the VAE class
    from dgmcore.distributions import Bernoulli, Normal  # noqa: F811 (as the tutorial repeats it)
    from dgmcore.losses import KullbackLeibler  # noqa: F811
    from dgmcore.models import VAE

    p = Generator().to(device)
    q = Inference().to(device)
    prior = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                   var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)
    kl = KullbackLeibler(q, prior)
    print_latex(kl)
    model = VAE(encoder=q, decoder=p, regularizer=kl,
                optimizer=optim.Adam, optimizer_params={"lr": 1e-3})
    print_latex(model)

    # cells 11-12
    def train(epoch):
        train_loss = 0
        for x, _ in train_loader:
            x = x.to(device)
            loss = model.train({"x": x})
            train_loss += loss

        train_loss = train_loss * train_loader.batch_size / len(train_loader.dataset)
        print('Epoch: {} Train loss: {:.4f}'.format(epoch, train_loss))
        return train_loss

    epochs = 3
    train_losses = []
    for epoch in range(1, epochs + 1):
        train_loss = train(epoch)
        train_losses.append(train_loss)
    assert finite(*train_losses) and train_losses[0] > train_losses[1] > train_losses[2]
    # the VAE class optimises the same objective as the Model written out: equal on the same weights
    infer_nor_z__x.load_state_dict(q.state_dict())
    gen_ber_x__z.load_state_dict(p.state_dict())
    x, _ = next(iter(test_loader))
    torch.manual_seed(3)
    by_model = vae_model.test({"x": x})
    torch.manual_seed(3)
    by_vae = model.test({"x": x})
    torch.testing.assert_close(by_model, by_vae)
