"""What the Pixyz ports share: the digits in Pixyz's data-loader shape, and helpers.

Pixyz's tutorials and examples read MNIST through torchvision; here the 1,797
8x8 digits of scikit-learn stand in (``x_dim = 64`` instead of 784), so the
ports run offline in seconds. Everything else in a port is Pixyz's code with
its imports changed (``from pixyz.utils import print_latex`` becomes
``from dgmcore import print_latex``).
"""

from __future__ import annotations

from typing import Any

import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

X_DIM, Y_DIM = 64, 10


def digits(n_train: int = 320, n_test: int = 96, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """(train, test) datasets of (image in [0, 1], label) pairs, like torchvision's MNIST."""
    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0
    y = torch.tensor(data.target, dtype=torch.long)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    train, test = order[:n_train], order[n_train : n_train + n_test]
    return TensorDataset(x[train], y[train]), TensorDataset(x[test], y[test])


def loaders(batch_size: int = 32, **kw: Any) -> tuple[DataLoader, DataLoader]:
    train, test = digits(**kw)
    return (
        DataLoader(train, batch_size=batch_size, shuffle=True),
        DataLoader(test, batch_size=batch_size, shuffle=False),
    )


def finite(*values: Any) -> bool:
    return all(bool(torch.isfinite(torch.as_tensor(v)).all()) for v in values)


def pixyz_twin(ours: Any, base: type) -> Any:
    """A Pixyz distribution of class ``base`` sharing ``ours``'s networks and ``forward``.

    For comparing a port with Pixyz 0.3.3 itself on the same weights: the twin
    registers ``ours`` as a submodule and calls its ``forward`` on the inputs.
    """

    class Twin(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(cond_var=list(ours.cond_var), var=list(ours.var), name=ours.name)
            self.ours = ours

        def forward(self, **inputs: Any) -> Any:
            return type(self.ours).forward(self.ours, **inputs)

    return Twin()
