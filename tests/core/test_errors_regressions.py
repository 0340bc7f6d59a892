"""Regressions (DESIGN §7): shapes and types the distributions layer must not let through.

Each test is a wrong answer that once came back silently, or an error that named
the wrong thing; the rest of the error contract is in ``test_errors.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dgmcore.distributions import extra_sample_dims
from dgmcore.errors import InputTypeError, ParameterError, ShapeError
from tests.core.families import Doubler, Encoder, Normal


def test_a_call_with_sample_dims_outside_a_loss_changes_no_later_call() -> None:
    # bad-input R01: a first call whose sample dims looked like features fixed them for good
    q = Encoder()
    x, z = torch.randn(5, 4), torch.randn(5, 2)
    expected = q.get_log_prob({"x": x, "z": z})
    with extra_sample_dims(1):  # scored with one sample dim: one value per sample and input
        assert q.get_log_prob({"x": x.expand(2, 5, 4), "z": torch.randn(2, 5, 2)}).shape == (2, 5)
    q.get_log_prob({"x": x.expand(2, 5, 4), "z": torch.randn(2, 5, 2)})  # ambiguous outside a loss
    torch.testing.assert_close(q.get_log_prob({"x": x, "z": z}), expected)


def test_a_numpy_value_is_an_input_type_error_naming_the_variable() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[3])
    with pytest.raises(InputTypeError, match=r"'z'.*ndarray"):
        prior.get_log_prob({"z": np.zeros((2, 3))})
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    with pytest.raises(InputTypeError, match=r"'z' must be a torch.Tensor, got ndarray"):
        p.sample({"z": np.zeros((2, 3))})


@pytest.mark.parametrize("batch_n", [-1, 0, 2.5, "3", True])
def test_batch_n_must_be_a_positive_int(batch_n: object) -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[3])
    with pytest.raises(InputTypeError, match="batch_n must be a positive int"):
        prior.sample(batch_n=batch_n)  # type: ignore[arg-type]


def test_an_int_sample_shape_is_one_sample_dimension() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[3])
    assert prior.sample(sample_shape=3)["z"].shape == (3, 1, 3)
    assert prior.sample(sample_shape=torch.Size([2]), batch_n=4)["z"].shape == (2, 4, 3)
    for bad in [(0,), (-2,), 2.5, "ab"]:
        with pytest.raises(InputTypeError, match="sample_shape"):
            prior.sample(sample_shape=bad)  # type: ignore[arg-type]


def test_batch_n_that_disagrees_with_the_inputs_is_a_shape_error() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    z = torch.zeros(2, 3)
    with pytest.raises(ShapeError, match=r"batch_n=10.*batch size 2"):
        p.sample({"z": z}, batch_n=10)
    assert p.sample({"z": z}, batch_n=2)["x"].shape == (2, 3)


def test_a_failing_draw_is_a_dgm_error_naming_the_distribution() -> None:
    class Broken(torch.distributions.Normal):
        def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:  # noqa: B008
            raise RuntimeError("no draw today")

    class BrokenNormal(Normal):
        family = Broken

    p = BrokenNormal(var=["x"], loc=0.0, scale=1.0)
    with pytest.raises(ParameterError, match=r"p\(x\) \(BrokenNormal\) could not draw") as info:
        p.sample()
    assert isinstance(info.value.__cause__, RuntimeError)


def test_a_value_without_its_batch_dim_is_not_broadcast() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    with pytest.raises(ShapeError, match=r"\(3,\) has no batch dimension.*\(4, 3\)"):
        p.get_log_prob({"z": torch.zeros(4, 3), "x": torch.zeros(3)})
    # an observation may omit sample dims: scored under each sampled latent
    with extra_sample_dims(1):
        assert p.get_log_prob({"z": torch.zeros(5, 4, 3), "x": torch.zeros(4, 3)}).shape == (5, 4)


def test_a_constant_tensor_is_copied_and_a_parameter_is_shared() -> None:
    loc = torch.zeros(3)
    p = Normal(var=["x"], loc=loc, scale=1.0)
    p.load_state_dict({"loc": torch.ones(3), "scale": torch.tensor(1.0)})
    assert bool((loc == 0).all()) and bool((p.loc == 1).all())
    learned = nn.Parameter(torch.zeros(3))
    assert Normal(var=["x"], loc=learned, scale=1.0).loc is learned


def test_joints_and_deterministic_factors_take_an_int_sample_shape_and_check_batch_n() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[3])
    joint = Doubler() * prior
    assert joint.sample(sample_shape=4, batch_n=2)["h"].shape == (4, 2, 3)
    with pytest.raises(InputTypeError, match="batch_n must be a positive int"):
        joint.sample(batch_n=0)
