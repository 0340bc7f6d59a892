"""rollout against a hand-written ancestral sampler on the same seed."""

from __future__ import annotations

import pytest
import timeseries_cases as cases
import torch
from dgmcore_families import Normal
from dgmcore_timeseries import rollout

from dgmcore.errors import MissingVariableError, ShapeError


def test_equals_a_hand_written_sampler_on_the_same_seed():
    nets = cases.Nets()
    _, _, prior, p = cases.model(nets)
    z0 = torch.randn(3, cases.Z)
    torch.manual_seed(5)
    out = rollout(p * prior, 7, {"z_prev": z0}, update_value={"z": "z_prev"})
    assert out["z"].shape == (3, 7, cases.Z) and out["x"].shape == (3, 7, cases.X)
    torch.manual_seed(5)
    z, zs, xs = z0, [], []
    for _ in range(7):
        z = torch.distributions.Normal(*nets.transition(z)).sample()
        xs.append(torch.distributions.Bernoulli(logits=nets.emit(z)).sample())
        zs.append(z)
    torch.testing.assert_close(out["z"], torch.stack(zs, 1))
    torch.testing.assert_close(out["x"], torch.stack(xs, 1))


def test_series_are_sliced_and_the_carried_value_moves():
    walk = Normal(loc="z_prev", scale=1e-6, var=["z"], cond_var=["z_prev"])
    drift = Normal(var=["z"], cond_var=["z_prev", "u"], loc="u", scale=1e-6)
    u = torch.arange(5.0).reshape(1, 5, 1).expand(2, 5, 1)
    out = rollout(drift, 5, {"z_prev": torch.zeros(2, 1), "u": u}, {"z": "z_prev"}, series_var=["u"])
    torch.testing.assert_close(out["z"], u, atol=1e-4, rtol=0)
    assert rollout(walk, 3, batch_n=4, x_dict={"z_prev": torch.ones(4, 2)},
                   update_value={"z": "z_prev"})["z"].shape == (4, 3, 2)


def test_bad_input_names_the_step_the_variable_and_the_step_index():
    walk = Normal(loc="z_prev", scale=1.0, var=["z"], cond_var=["z_prev"])
    with pytest.raises(MissingVariableError, match=r"rollout of p\(z\|z_prev\).*step 0.*z_prev"):
        rollout(walk, 3, {}, {"z": "z_prev"})
    with pytest.raises(MissingVariableError, match=r"step 0: nothing drawn to carry into 'w_prev'"):
        rollout(walk, 3, {"z_prev": torch.zeros(1, 2), "w_prev": torch.zeros(1)}, {"w": "w_prev"})
    with pytest.raises(ShapeError, match="'u' has 2 frames"):
        rollout(walk, 3, {"z_prev": torch.zeros(1, 2), "u": torch.zeros(1, 2)}, {"z": "z_prev"},
                series_var=["u"])
