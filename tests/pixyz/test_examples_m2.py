"""Pixyz 0.3.3's example m2 (semi-supervised M2), as written: only its imports changed.

``RelaxedCategorical`` keeps Pixyz's default temperature (0.1) and Pixyz's
meaning (relaxed samples, scored with Pixyz's likelihood), so the classifier's
``nll = -f.log_prob()`` of one-hot labels and ``f.sample_mean(x).argmax(1)`` work
as in Pixyz. MNIST is replaced by the scikit-learn digits (see ``common.py``),
``iter(labelled).next()`` by ``next(iter(labelled))``, 10 epochs by 2.
Checked: every loss finite (a NaN gradient, applied silently by the default
``Model``, would turn the networks and the next losses NaN), the objective falls, the classifier's loss matches Pixyz's on the same weights,
and the classifier beats chance on held-out digits.
"""

# Pixyz's code is kept as Pixyz wrote it (super(Cls, self), str.format, unused plot results):
# ruff: noqa: UP008, UP032, B007, F841, E501

from __future__ import annotations

from functools import reduce
from operator import __or__

import numpy as np
import pytest
import torch
from torch import nn, optim
from torch.nn import functional as F
from torch.utils.data.sampler import SubsetRandomSampler

from dgmcore import print_latex
from tests.pixyz.common import X_DIM, digits, finite

device = "cpu"
batch_size = 32
epochs = 2


def test_run_m2():
    torch.manual_seed(1)
    np.random.seed(1)
    labels_per_class = 10
    n_labels = 10
    mnist_train, mnist_valid = digits(n_train=640, n_test=256)
    train_targets = mnist_train.tensors[1]
    valid_targets = mnist_valid.tensors[1]

    def get_sampler(labels, n=None):
        # Only choose digits in n_labels
        (indices,) = np.where(reduce(__or__, [labels == i for i in np.arange(n_labels)]))
        # Ensure uniform distribution of labels
        np.random.shuffle(indices)
        indices = np.hstack([list(filter(lambda idx: labels[idx] == i, indices))[:n] for i in range(n_labels)])
        indices = torch.from_numpy(indices)
        sampler = SubsetRandomSampler(indices)
        return sampler

    labelled = torch.utils.data.DataLoader(mnist_train, batch_size=batch_size,
                                           sampler=get_sampler(train_targets.numpy(), labels_per_class))
    unlabelled = torch.utils.data.DataLoader(mnist_train, batch_size=batch_size,
                                             sampler=get_sampler(train_targets.numpy()))
    validation = torch.utils.data.DataLoader(mnist_valid, batch_size=batch_size,
                                             sampler=get_sampler(valid_targets.numpy()))

    from dgmcore.distributions import Bernoulli, Categorical, Normal, RelaxedCategorical  # noqa: F401
    from dgmcore.losses import ELBO
    from dgmcore.models import Model

    x_dim = X_DIM
    y_dim = 10
    z_dim = 64

    # inference model q(z|x,y)
    class Inference(Normal):
        def __init__(self):
            super().__init__(cond_var=["x", "y"], var=["z"], name="q")

            self.fc1 = nn.Linear(x_dim + y_dim, 512)
            self.fc21 = nn.Linear(512, z_dim)
            self.fc22 = nn.Linear(512, z_dim)

        def forward(self, x, y):
            h = F.relu(self.fc1(torch.cat([x, y], 1)))
            return {"loc": self.fc21(h), "scale": F.softplus(self.fc22(h))}

    # generative model p(x|z,y)
    class Generator(Bernoulli):
        def __init__(self):
            super().__init__(cond_var=["z", "y"], var=["x"], name="p")

            self.fc1 = nn.Linear(z_dim + y_dim, 512)
            self.fc2 = nn.Linear(512, x_dim)

        def forward(self, z, y):
            h = F.relu(self.fc1(torch.cat([z, y], 1)))
            return {"probs": torch.sigmoid(self.fc2(h))}

    # classifier p(y|x)
    class Classifier(RelaxedCategorical):
        def __init__(self):
            super(Classifier, self).__init__(cond_var=["x"], var=["y"], name="p")
            self.fc1 = nn.Linear(x_dim, 512)
            self.fc2 = nn.Linear(512, y_dim)

        def forward(self, x):
            h = F.relu(self.fc1(x))
            h = F.softmax(self.fc2(h), dim=1)
            return {"probs": h}

    # prior model p(z)
    prior = Normal(loc=torch.tensor(0.), scale=torch.tensor(1.),
                   var=["z"], features_shape=[z_dim], name="p_{prior}").to(device)

    # distributions for supervised learning
    p = Generator().to(device)
    q = Inference().to(device)
    f = Classifier().to(device)
    p_joint = p * prior
    print(p_joint)
    print_latex(p_joint)

    # distributions for unsupervised learning
    _q_u = q.replace_var(x="x_u", y="y_u")
    p_u = p.replace_var(x="x_u", y="y_u")
    f_u = f.replace_var(x="x_u", y="y_u")

    q_u = _q_u * f_u
    p_joint_u = p_u * prior

    p_joint_u.to(device)
    q_u.to(device)
    f_u.to(device)
    print(p_joint_u)
    print_latex(p_joint_u)

    elbo_u = ELBO(p_joint_u, q_u)
    elbo = ELBO(p_joint, q)
    nll = -f.log_prob()  # or -LogProb(f)

    rate = 1 * (len(unlabelled) + len(labelled)) / len(labelled)

    loss_cls = -elbo_u.mean() - elbo.mean() + (rate * nll).mean()
    print(loss_cls)
    print_latex(loss_cls)

    model = Model(loss_cls, test_loss=nll.mean(),
                  distributions=[p, q, f], optimizer=optim.Adam, optimizer_params={"lr": 1e-3})
    print(model)
    print_latex(model)

    def train(epoch):
        train_loss = 0
        for x_u, y_u in unlabelled:
            x, y = next(iter(labelled))
            x = x.to(device)
            y = torch.eye(10)[y].to(device)
            x_u = x_u.to(device)
            loss = model.train({"x": x, "y": y, "x_u": x_u})
            train_loss += loss

        train_loss = train_loss * unlabelled.batch_size / len(unlabelled.dataset)
        print('Epoch: {} Train loss: {:.4f}'.format(epoch, train_loss))
        return train_loss

    def test(epoch):
        test_loss = 0
        correct = 0
        total = 0
        for x, y in validation:
            x = x.to(device)
            y = torch.eye(10)[y].to(device)
            loss = model.test({"x": x, "y": y})
            test_loss += loss

            pred_y = f.sample_mean({"x": x})
            total += y.size(0)
            correct += (pred_y.argmax(dim=1) == y.argmax(dim=1)).sum().item()

        test_loss = test_loss * validation.batch_size / len(validation.dataset)
        test_accuracy = 100 * correct / total
        print('Test loss: {:.4f}, Test accuracy: {:.4f}'.format(test_loss, test_accuracy))
        return test_loss, test_accuracy

    x0, y0 = next(iter(labelled))
    start = loss_cls.eval({"x": x0, "y": torch.eye(10)[y0], "x_u": next(iter(unlabelled))[0]}).item()
    before, _ = test(0)
    curve = []
    for epoch in range(1, epochs + 1):
        train_loss = train(epoch)
        test_loss, test_accuracy = test(epoch)
        curve.append((train_loss, test_loss, test_accuracy))

    assert finite(start, before, *[v for row in curve for v in row[:2]])
    assert curve[-1][0] < curve[0][0]  # the objective falls from epoch to epoch
    assert curve[-1][1] < before  # the classifier's test loss falls
    assert curve[-1][2] > 50  # percent; chance is 10 (measured: 85.5 after 2 epochs, 7.0 untrained)

    # the classifier's loss -log p(y|x) of one-hot labels is Pixyz's, on the same weights
    pixyz_distributions = pytest.importorskip("pixyz.distributions")

    class PixyzClassifier(pixyz_distributions.RelaxedCategorical):
        def __init__(self):
            super().__init__(cond_var=["x"], var=["y"], name="p")
            self.fc1 = nn.Linear(x_dim, 512)
            self.fc2 = nn.Linear(512, y_dim)

        forward = Classifier.forward

    theirs = PixyzClassifier()
    weights = {k: v for k, v in f.state_dict().items() if k.startswith("fc")}
    theirs.load_state_dict(weights, strict=False)  # (Pixyz stores the temperature with shape (1,))
    x, y = next(iter(validation))
    y = torch.eye(10)[y]
    for row in range(4):  # Pixyz sums a batch of one-hot values over its batch: one row at a time
        value = {"x": x[row : row + 1], "y": y[row : row + 1]}
        torch.testing.assert_close(
            f.get_log_prob(value).reshape(()), theirs.get_log_prob(value).reshape(()), rtol=1e-5, atol=1e-5
        )
