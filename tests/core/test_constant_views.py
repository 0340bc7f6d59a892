"""Constants read as Pixyz's (1, *features) view of their buffer; stored and computed with as they are.

The same shapes compared with Pixyz 0.3.3 itself: tests/pixyz/test_constants.py.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from dgmcore.models import Model
from tests.core.families import Bernoulli, Categorical, Normal

N = torch.distributions.Normal


def test_the_buffer_and_state_dict_keep_their_own_shape() -> None:
    p = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3])
    assert {n: tuple(t.shape) for n, t in p.state_dict().items()} == {"loc": (3,), "scale": (3,)}
    assert {n: tuple(t.shape) for n, t in p.named_buffers()} == {"loc": (3,), "scale": (3,)}
    assert p.loc.shape == (1, 3) and p.loc.data_ptr() == p.state_dict()["loc"].data_ptr()
    q = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[3])
    q.load_state_dict(p.state_dict())  # a checkpoint of the old layout loads unchanged
    assert p.get_params()["loc"].shape == (3,) and p.sample(batch_n=4)["x"].shape == (4, 3)
    assert p.double().loc.shape == (1, 3) and p.loc.dtype == torch.float64
    assert copy.deepcopy(p).loc.shape == (1, 3)


def test_writes_through_the_view_update_the_buffer_and_the_constant_cache_sees_them() -> None:
    p = Normal(loc=torch.zeros(2), scale=torch.ones(2), var=["x"])
    x = {"x": torch.tensor([[1.0, -1.0], [0.5, 2.0]])}
    before = p.get_log_prob(x)  # builds and caches the torch object
    torch.testing.assert_close(before, N(torch.zeros(2), torch.ones(2)).log_prob(x["x"]).sum(-1))
    version = p.state_dict()["loc"]._version
    view = p.loc
    assert view._version == version  # a view shares its base's version counter
    p.loc[0] = torch.tensor([1.0, -1.0])  # Pixyz's EM update, as written
    p.scale[0] = torch.tensor([0.5, 2.0])
    assert p.state_dict()["loc"]._version > version and view._version > version
    torch.testing.assert_close(p.state_dict()["loc"], torch.tensor([1.0, -1.0]))
    after = p.get_log_prob(x)
    ref = N(torch.tensor([1.0, -1.0]), torch.tensor([0.5, 2.0])).log_prob(x["x"]).sum(-1)
    torch.testing.assert_close(after, ref)
    assert not torch.allclose(after, before)
    torch.testing.assert_close(p.sample_mean(), torch.tensor([1.0, -1.0]))
    # the weights of a Categorical, which torch normalises into a copy at each build
    c = Categorical(probs=torch.ones(3) / 3, var=["z"])
    assert c.get_dist().probs.tolist() == pytest.approx([1 / 3] * 3)
    c.probs[0] = torch.tensor([0.2, 0.3, 0.5])
    assert c.get_dist().probs.tolist() == pytest.approx([0.2, 0.3, 0.5])


def test_a_tensor_assigned_in_the_view_shape_is_stored_in_the_buffer_shape() -> None:
    p = Normal(loc=torch.zeros(2), scale=torch.ones(2), var=["x"])
    p.loc = p.loc + 1.0  # Pixyz's shape, (1, 2)
    assert p.state_dict()["loc"].shape == (2,) and p.loc.shape == (1, 2)
    assert p.sample(batch_n=3)["x"].shape == (3, 2)
    ones = torch.ones(3, 2)
    torch.testing.assert_close(p.get_log_prob({"x": ones}), N(1.0, 1.0).log_prob(ones).sum(-1))
    p.scale = torch.full((2,), 2.0)  # the buffer's own shape: stored as given
    assert p.state_dict()["scale"].shape == (2,)
    torch.testing.assert_close(p.sample_variance(), torch.full((2,), 4.0))
    learned = nn.Parameter(torch.zeros(1, 2))
    p.loc = learned  # a parameter replaces the buffer as it is (nn.Module's rule)
    assert p.loc is learned


def test_a_learned_constant_and_other_attributes_are_returned_as_they_are() -> None:
    learned = nn.Parameter(torch.zeros(3))
    p = Normal(loc=learned, scale=1.0, var=["x"])
    assert p.loc is learned and p.scale.shape == (1,)

    class Encoder(Normal):
        def __init__(self) -> None:
            super().__init__(var=["z"], cond_var=["x"], scale=torch.ones(2))
            self.loc_net = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loc": self.loc_net(x)}

    q = Encoder()
    assert isinstance(q.loc_net, nn.Linear) and q.scale.shape == (1, 2)
    assert q.get_params({"x": torch.zeros(5, 2)})["scale"].shape == (2,)  # the buffer, not the view
    with pytest.raises(AttributeError):
        _ = q.loc  # from forward: not an attribute


def test_a_failed_training_step_restores_constant_buffers_in_their_own_shape() -> None:
    """The model's rollback copies the buffers, not the attribute views, back."""
    prior = Normal(loc=torch.zeros(2), scale=torch.ones(2), var=["x"], name="p0")
    learned = Normal(loc=nn.Parameter(torch.zeros(2)), scale=1.0, var=["x"])
    model = Model(-(learned.log_prob() + prior.log_prob()).mean(), distributions=[learned, prior])
    buffer = prior.state_dict(keep_vars=True)["loc"]
    with pytest.raises(Exception, match="not finite"):
        model.train({"x": torch.full((4, 2), float("nan"))})
    assert prior.state_dict()["loc"].shape == (2,) and prior.loc.shape == (1, 2)
    assert prior.state_dict(keep_vars=True)["loc"] is buffer  # copied back in place
    assert prior.get_log_prob({"x": torch.zeros(4, 2)}).shape == (4,)


def test_bernoulli_constant_reads_as_pixyz_view() -> None:
    p = Bernoulli(probs=torch.full((2, 3), 0.25), var=["x"])
    assert p.probs.shape == (1, 2, 3) and p.state_dict()["probs"].shape == (2, 3)
