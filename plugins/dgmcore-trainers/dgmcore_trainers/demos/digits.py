"""The scikit-learn digits and the networks of the digits demos (also used by the tests).

The 1,797 handwritten digits (8x8 pixels, intensities 0..16) are scaled to
[0, 1] and split 80/20 with a fixed seed. Pixels are scored as Bernoulli
probabilities, as in the VAE paper's MNIST experiments.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from dgmcore.distributions import Distribution

__all__ = ["N_CLASSES", "X_DIM", "load_digits_split", "make_decoder", "make_encoder", "make_prior"]

X_DIM = 64
N_CLASSES = 10


def load_digits_split(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train_x, train_y, test_x, test_y)``: images in [0, 1] (N, 64), one-hot labels (N, 10)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.tensor(data.data, dtype=torch.float32) / 16.0
    labels = F.one_hot(torch.tensor(data.target), N_CLASSES).float()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    n_train = int(0.8 * len(images))
    tr, te = order[:n_train], order[n_train:]
    return images[tr], labels[tr], images[te], labels[te]


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, n_out))


def _families() -> tuple[type, type]:
    from dgmcore.distributions import Bernoulli, Normal

    return Normal, Bernoulli


def make_encoder(z_dim: int = 8, hidden: int = 256, conditional: bool = False) -> Distribution:
    """:math:`q(z|x)` (or :math:`q(z|x,y)`): a Gaussian whose mean and scale come from an MLP."""
    normal, _ = _families()
    cond = ["x", "y"] if conditional else ["x"]
    n_in = X_DIM + (N_CLASSES if conditional else 0)

    class Q(normal):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(var=["z"], cond_var=cond, name="q")
            self.net = _mlp(n_in, hidden, 2 * z_dim)

        def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
            h = x if y is None else torch.cat([x, y], dim=-1)
            loc, scale = self.net(h).chunk(2, dim=-1)
            return {"loc": loc, "scale": F.softplus(scale) + 1e-4}

    return Q()  # type: ignore[no-any-return]


def make_decoder(z_dim: int = 8, hidden: int = 256, conditional: bool = False,
            ignore_latent: bool = False) -> Distribution:
    """:math:`p(x|z)` (or :math:`p(x|z,y)`): Bernoulli pixels whose logits come from an MLP.

    With ``ignore_latent=True`` the same network sees zeros in place of
    :math:`z`: the baseline a VAE must beat, since then
    :math:`p(x) = p(x|z)` is one product of Bernoullis whose log-likelihood
    is exact.
    """
    _, bernoulli = _families()
    cond = ["z", "y"] if conditional else ["z"]
    n_in = z_dim + (N_CLASSES if conditional else 0)

    class P(bernoulli):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(var=["x"], cond_var=cond, name="p")
            self.net = _mlp(n_in, hidden, X_DIM)

        def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
            if ignore_latent:
                z = torch.zeros_like(z)
            if y is not None:  # z may carry sample dimensions in front of the batch (log_marginal)
                z = torch.cat([z, y.expand(*z.shape[:-1], y.shape[-1])], dim=-1)
            return {"logits": self.net(z)}

    return P()  # type: ignore[no-any-return]


def make_prior(z_dim: int = 8) -> Distribution:
    """:math:`p(z) = \\mathcal{N}(0, I)`."""
    normal, _ = _families()
    return normal(loc=0.0, scale=1.0, var=["z"], features_shape=[z_dim], name="p_{prior}")  # type: ignore[no-any-return]
