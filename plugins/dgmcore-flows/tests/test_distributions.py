"""The flow distributions: exact densities (grids, torch.distributions), joints, losses, text and errors."""

from __future__ import annotations

import math

import pytest
import torch
from dgmcore_families import Normal
from dgmcore_flows import (
    MAF,
    ActNorm1d,
    AffineCoupling,
    FlowList,
    InverseTransformedDistribution,
    PlanarFlow,
    RadialFlow,
    Reverse,
    SplineAutoregressive,
    SplineCoupling,
    TransformedDistribution,
)
from torch import nn

from dgmcore.errors import InputTypeError, MissingVariableError, ShapeError

KINDS = [TransformedDistribution, InverseTransformedDistribution]


def _perturbed(flow: nn.Module, scale: float = 0.5) -> nn.Module:
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn_like(p))
    return flow.eval()


def _prior(d: int) -> Normal:
    return Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[d], name="p_z")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_density_integrates_to_one_in_1d(kind):
    flow = _perturbed(
        FlowList([MAF(1, hidden=8), PlanarFlow(1), RadialFlow(1), SplineAutoregressive(1, bins=6)])
    )
    p = kind(_prior(1), flow, var="x")
    grid = torch.linspace(-15, 15, 20001)
    with torch.no_grad():
        density = p.get_log_prob({"x": grid[:, None]}).exp()
    total = torch.trapezoid(density, grid).item()
    assert total == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_density_integrates_to_one_in_2d(kind):
    flow = _perturbed(
        FlowList([AffineCoupling(2, hidden=8), Reverse(2), SplineCoupling(2, bins=6, hidden=8)]), 0.3
    )
    p = kind(_prior(2), flow, var="x")
    axis = torch.linspace(-10, 10, 401)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        density = p.get_log_prob({"x": torch.stack([xx, yy], -1).reshape(-1, 2)}).exp().reshape(401, 401)
    total = torch.trapezoid(torch.trapezoid(density, axis), axis).item()
    assert total == pytest.approx(1.0, abs=0.01)


def test_affine_flow_of_a_normal_is_the_normal_of_torch_distributions():
    flow = ActNorm1d(3)
    with torch.no_grad():
        flow.shift.copy_(torch.tensor([1.0, -2.0, 0.5]))
        flow.log_scale.copy_(torch.tensor([0.3, -0.7, 1.1]))
        flow.initialized.fill_(True)
    reference = torch.distributions.Normal(flow.shift.detach(), flow.log_scale.detach().exp())
    x = torch.randn(7, 3) * 3
    pushed = TransformedDistribution(_prior(3), flow, var="x")
    torch.testing.assert_close(pushed.get_log_prob({"x": x}), reference.log_prob(x).sum(-1))
    # the other direction: z = a x + b ~ N(0, 1) means x ~ N(-b / a, 1 / a)
    pulled = InverseTransformedDistribution(_prior(3), flow, var="x")
    a, b = flow.log_scale.detach().exp(), flow.shift.detach()
    expected = torch.distributions.Normal(-b / a, 1 / a).log_prob(x).sum(-1)
    torch.testing.assert_close(pulled.get_log_prob({"x": x}), expected)


def test_samples_come_from_the_density():
    # samples pushed through an affine flow have the reference mean and variance
    flow = ActNorm1d(2)
    with torch.no_grad():
        flow.shift.copy_(torch.tensor([3.0, -1.0]))
        flow.log_scale.copy_(torch.tensor([math.log(2.0), 0.0]))
        flow.initialized.fill_(True)
    p = TransformedDistribution(_prior(2), flow, var="x")
    x = p.sample(batch_n=20000)["x"]
    torch.testing.assert_close(x.mean(0), torch.tensor([3.0, -1.0]), atol=0.06, rtol=0)
    torch.testing.assert_close(x.var(0), torch.tensor([4.0, 1.0]), atol=0.12, rtol=0)


def test_conditional_flow_in_a_joint_and_a_loss_trains():
    torch.manual_seed(0)
    flow = FlowList(
        [AffineCoupling(2, hidden=16, context=1), Reverse(2), AffineCoupling(2, hidden=16, context=1)]
    )
    p_x = InverseTransformedDistribution(_prior(2), flow, var="x", cond_var=["y"], name="p")
    p_y = Normal(loc=0.0, scale=1.0, var=["y"], features_shape=[1], name="p")
    joint = p_x * p_y
    assert joint.prob_factorized_text == "p(x|y)p(y)"
    y = torch.randn(512, 1)
    x = torch.cat([y + 0.1 * torch.randn(512, 1), 2 * y**2 + 0.1 * torch.randn(512, 1)], -1)
    data = {"x": x, "y": y}
    loss = -joint.log_prob().mean()
    before = loss.eval(data).item()
    opt = torch.optim.Adam(flow.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        loss.eval(data).backward()
        opt.step()
    after = loss.eval(data).item()
    # a diagonal Gaussian fitted to (x | nothing) plus p(y) is the baseline the flow must beat
    baseline = -torch.distributions.Normal(x.mean(0), x.std(0)).log_prob(x).sum(-1).mean().item()
    baseline += -torch.distributions.Normal(0.0, 1.0).log_prob(y).sum(-1).mean().item()
    assert after < before and after < baseline - 1.0
    sample = joint.sample(batch_n=4)
    assert sample["x"].shape == (4, 2) and sample["y"].shape == (4, 1)


def test_sample_shapes_and_hidden_latent():
    p = InverseTransformedDistribution(_prior(3), MAF(3, hidden=8, context=2), var="x", cond_var="c")
    out = p.sample({"c": torch.randn(5, 2)}, sample_shape=(4,), return_hidden=True)
    assert out["x"].shape == (4, 5, 3) and out["z"].shape == (4, 5, 3) and out["c"].shape == (5, 2)
    assert p.get_log_prob(out).shape == (4, 5)
    assert set(p.sample({"c": torch.randn(5, 2)}, return_all=False)) == {"x"}


def test_text_latex_and_str_show_the_flow():
    p = TransformedDistribution(_prior(2), FlowList([PlanarFlow(2), Reverse(2)]), var="x", name="q")
    assert p.prob_text == "q(x)"
    assert "q" in p.latex and "x" in p.latex
    text = str(p)
    assert "q(x)" in text and "PlanarFlow" in text and "Reverse" in text and "Normal" in text


def test_bad_input_is_a_clear_error():
    p = InverseTransformedDistribution(_prior(2), MAF(2, hidden=8), var="x")
    with pytest.raises(InputTypeError, match=r"p\(x\)"):
        p.get_log_prob(torch.zeros(3, 2))
    with pytest.raises(MissingVariableError, match="'x'"):
        p.get_log_prob({"y": torch.zeros(3, 2)})
    # a flow mixes the features: one value per sample, with no feature dims to keep or sum
    torch.testing.assert_close(
        p.get_log_prob({"x": torch.zeros(3, 2)}, sum_features=False), p.get_log_prob({"x": torch.zeros(3, 2)})
    )
    with pytest.raises(ShapeError, match="feature_dims"):
        p.get_log_prob({"x": torch.zeros(3, 2)}, feature_dims=[-1])
    with pytest.raises(InputTypeError, match="one variable"):
        TransformedDistribution(_prior(2), MAF(2), var=["x", "y"])
