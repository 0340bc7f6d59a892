"""Pixyz stores a constant with a leading batch dimension of 1; dgmcore reads it the same way.

Pixyz 0.3.3 registers ``loc=torch.zeros(2)`` as a buffer of shape (1, 2); its
examples write ``d.loc[0] = new_loc`` (the GMM's EM) and read ``d.loc[0, 0]``.
dgmcore keeps the buffer in its own shape and reads the attribute as a
(1, *shape) view of it (tests/core/test_constant_views.py: the buffer, the
cache, the rollback).
"""

from __future__ import annotations

import pytest
import torch

import dgmcore.distributions as ours_lib


def _cases(lib):  # the same constructor calls under dgmcore and Pixyz
    return {
        "tensor loc and scale": lambda: lib.Normal(loc=torch.zeros(2), scale=torch.ones(2), var=["x"]),
        "weights": lambda: lib.Categorical(probs=torch.ones(3) / 3, var=["z"]),
        "numbers with features_shape": lambda: lib.Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3]),
        "numbers": lambda: lib.Normal(loc=0.0, scale=1.0, var=["x"]),
        "a matrix": lambda: lib.Bernoulli(probs=torch.full((2, 3), 0.5), var=["x"]),
        "conditional, tensor scale": lambda: lib.Normal(
            loc="mu", scale=torch.ones(3), var=["x"], cond_var=["mu"]
        ),
        "conditional, number scale": lambda: lib.Normal(loc="mu", scale=1.0, var=["x"], cond_var=["mu"]),
    }


CASES = list(_cases(None))  # the names only (nothing is built)


@pytest.mark.parametrize("case", CASES)
def test_constant_attributes_have_pixyz_shapes_and_values(case: str) -> None:
    pixyz = pytest.importorskip("pixyz.distributions")

    ours, theirs = _cases(ours_lib)[case](), _cases(pixyz)[case]()
    names = [n for n, _ in theirs.named_buffers()]
    assert names
    for n in names:
        assert getattr(ours, n).shape == getattr(theirs, n).shape, n
        torch.testing.assert_close(getattr(ours, n), getattr(theirs, n))




def test_pixyz_indexing_reads_and_writes_as_in_pixyz() -> None:
    pixyz = pytest.importorskip("pixyz.distributions")
    ours = ours_lib.Normal(loc=torch.tensor([1.0, 2.0]), scale=torch.ones(2), var=["x"])
    theirs = pixyz.Normal(loc=torch.tensor([1.0, 2.0]), scale=torch.ones(2), var=["x"])
    assert ours.loc[0, 1].item() == theirs.loc[0, 1].item() == 2.0
    for d in (ours, theirs):
        d.loc[0] = torch.tensor([3.0, 4.0])
    x = {"x": torch.tensor([[3.0, 4.0], [0.0, 0.0]])}
    torch.testing.assert_close(ours.get_log_prob(x), theirs.get_log_prob(x))
