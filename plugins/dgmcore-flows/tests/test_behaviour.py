"""Beyond the contract table: shapes under hypothesis, training-mode statistics, bad configurations."""

from __future__ import annotations

import pytest
import torch
from dgmcore_flows import (
    MAF,
    ActNorm1d,
    AffineCoupling,
    BatchNorm1d,
    FactorOut,
    FlowContextError,
    FlowList,
    FlowShapeError,
    Permutation,
    Preprocess,
    Reverse,
    SplineCoupling,
    Squeeze,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmcore.errors import DGMError, ParameterError

FLOWS = {
    "AffineCoupling": lambda d: AffineCoupling(d, hidden=4, context=2),
    "SplineCoupling": lambda d: SplineCoupling(d, bins=3, hidden=4, context=2),
    "MAF": lambda d: MAF(d, hidden=4, context=2),
}


@settings(max_examples=15, deadline=None)
@given(
    name=st.sampled_from(sorted(FLOWS)),
    features=st.integers(2, 5),
    lead=st.lists(st.integers(1, 3), min_size=1, max_size=3),
)
def test_any_leading_shape_is_kept_and_inverted(name, features, lead):
    flow = FLOWS[name](features)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    x = torch.randn(*lead, features)
    context = torch.randn(lead[-1], 2)  # one context per batch element, broadcast over sample dims
    y, logdet = flow(x, context)
    assert y.shape == x.shape and logdet.shape == tuple(lead)
    back, minus = flow.inverse(y, context)
    torch.testing.assert_close(back, x, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(minus, -logdet, atol=1e-4, rtol=1e-4)


def test_batchnorm_standardises_in_training_and_tracks_running_statistics():
    flow = BatchNorm1d(2, momentum=0.5)
    x = torch.randn(500, 2) * torch.tensor([3.0, 0.5]) + torch.tensor([1.0, -2.0])
    y, logdet = flow(x)
    torch.testing.assert_close(y.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(0, unbiased=False), torch.ones(2), atol=1e-3, rtol=0)
    expected = -0.5 * (x.var(0, unbiased=False) + flow.eps).log().sum()
    torch.testing.assert_close(logdet, expected.expand(500))
    torch.testing.assert_close(flow.running_mean, 0.5 * x.mean(0))
    flow.eval()  # eval mode and inverse use the running statistics: exact inverses
    torch.testing.assert_close(flow.inverse(flow(x)[0])[0], x, atol=1e-5, rtol=1e-5)


def test_actnorm_initialises_once_from_the_first_batch():
    flow = ActNorm1d(2)
    first = torch.randn(400, 2) * 4 + 3
    y, _ = flow(first)
    torch.testing.assert_close(y.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(0, unbiased=False), torch.ones(2), atol=1e-4, rtol=0)
    before = flow.state_dict()
    flow(torch.randn(10, 2) * 100)  # a second batch does not initialise again
    assert all(torch.equal(before[k], v) for k, v in flow.state_dict().items())


def test_preprocess_dequantises_in_training_only():
    flow = Preprocess(3, levels=5)
    x = torch.full((4, 3), 0.5)
    assert not torch.equal(flow(x)[0], flow(x)[0])  # fresh noise each call
    flow.eval()
    assert torch.equal(flow(x)[0], flow(x)[0])


@pytest.mark.parametrize(
    "build, error, words",
    [
        (lambda: FlowList([Squeeze(1), AffineCoupling(1, image=True)]), FlowShapeError, "Squeeze(1) gives 4"),
        (lambda: FlowList([]), FlowShapeError, "at least one flow"),
        (lambda: FlowList([MAF(2, context=1), MAF(2, context=3)]), FlowShapeError, "different sizes"),
        (lambda: Permutation(3, [0, 0, 1]), FlowShapeError, "each of 0..2 once"),
        (lambda: AffineCoupling(3, mask=torch.tensor([True, False])), FlowShapeError, "(3,)"),
        (lambda: AffineCoupling(3, mask="diagonal"), ParameterError, "'diagonal'"),
        (lambda: FactorOut(4, AffineCoupling(3, image=True)), FlowShapeError, "2 channels"),
    ],
    ids=["mismatch", "empty", "contexts", "permutation", "mask-shape", "mask-kind", "factor-out"],
)
def test_bad_configurations_are_clear_errors(build, error, words):
    with pytest.raises(error) as info:
        build()
    assert isinstance(info.value, DGMError) and words in str(info.value)


def test_bad_input_names_the_flow_and_the_shapes():
    with pytest.raises(
        FlowShapeError, match=r"Squeeze\(1\): forward needs a height and width divisible by 2"
    ):
        Squeeze(1)(torch.zeros(2, 1, 3, 4))
    with pytest.raises(FlowShapeError, match=r"Squeeze\(1\): forward expects x of shape \(\.\.\., 1, H, W\)"):
        Squeeze(1)(torch.zeros(2, 2, 4, 4))
    flow = MAF(3, context=2)
    with pytest.raises(
        FlowContextError, match=r"MAF\(3\): forward needs a context of shape \(\.\.\., 2\), got None"
    ):
        flow(torch.zeros(4, 3))
    with pytest.raises(FlowContextError, match=r"does not broadcast to the batch \(4,\)"):
        flow(torch.zeros(4, 3), torch.zeros(5, 2))
    with pytest.raises(FlowShapeError, match=r"Reverse\(3\): inverse expects y"):
        Reverse(3).inverse(torch.zeros(4, 2))
