"""Loss arithmetic never broadcasts a term out of its batch shape (finding R04).

Torch broadcasts a ``(B, 1)`` weight against a ``(B,)`` term into ``(B, B)``;
the mean of that is ``mean(w) * mean(term)``, not ``mean(w * term)``. Every such
combination is a ShapeError naming the loss; the legitimate broadcasts (a
number, a per-batch weight inside an expectation that carries sample dims, a
``(B, 1)`` weight against per-feature values) keep working and equal the
hand-written product.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dgmcore.distributions import extra_sample_dims
from dgmcore.errors import ShapeError
from dgmcore.losses import Expectation, KullbackLeibler, MaxLoss, MinLoss, Parameter
from tests.families import Normal
from tests.losses.conftest import make_vae

VAE = make_vae()
B = VAE.x.shape[0]
OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "min": MinLoss,
    "max": MaxLoss,
}
BAD_WEIGHTS = {"(B,1)": (B, 1), "(1,B)": (1, B), "(B,B)": (B, B), "(2,B)": (2, B), "(1,1,B)": (1, 1, B)}


@settings(max_examples=40, deadline=None)
@given(
    op=st.sampled_from(sorted(OPS)),
    weight=st.sampled_from(sorted(BAD_WEIGHTS)),
    weight_left=st.booleans(),
    reduce=st.sampled_from(["none", "mean", "sum"]),
)
def test_a_weight_that_broadcasts_out_of_the_batch_is_a_shape_error(op, weight, weight_left, reduce):
    kl = KullbackLeibler(VAE.q, VAE.prior)
    w = Parameter("w")
    loss = OPS[op](w, kl) if weight_left else OPS[op](kl, w)
    if reduce != "none":
        loss = getattr(loss, reduce)()
    with pytest.raises(ShapeError) as info:
        loss.eval({"x": VAE.x, "w": torch.rand(BAD_WEIGHTS[weight]) + 0.5})
    msg = str(info.value)
    assert "KL[q(z|x)||p_{prior}(z)]" in msg and str(BAD_WEIGHTS[weight]) in msg


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("shape", [(), (B,), (1,)], ids=["number", "per-batch", "one"])
def test_weights_that_keep_the_batch_equal_the_hand_written_value(op, shape):
    kl = KullbackLeibler(VAE.q, VAE.prior)
    w = torch.rand(shape) + 0.5
    x = {"x": VAE.x, "w": w}
    expected = OPS[op](_Hand(w), _Hand(kl.eval(x))).t if op in "+-*/" else None
    got = OPS[op](Parameter("w"), kl).eval(x)
    if expected is None:
        fn = torch.minimum if op == "min" else torch.maximum
        expected = fn(w, kl.eval(x))
    assert got.shape == (B,)
    torch.testing.assert_close(got, expected)


class _Hand:
    """A tensor wrapper so that OPS apply plain torch arithmetic (the reference)."""

    def __init__(self, t):
        self.t = t

    def __add__(self, o):
        return _Hand(self.t + o.t)

    def __sub__(self, o):
        return _Hand(self.t - o.t)

    def __mul__(self, o):
        return _Hand(self.t * o.t)

    def __truediv__(self, o):
        return _Hand(self.t / o.t)


def test_a_per_batch_weight_inside_an_expectation_broadcasts_over_the_samples():
    w = torch.rand(B) + 0.5
    e = Expectation(VAE.q, Parameter("w") * VAE.p.log_prob(), sample_shape=(4,))
    torch.manual_seed(0)
    value, out = e.eval({"x": VAE.x, "w": w}, return_dict=True)
    with extra_sample_dims(1):  # scored outside the loss: the sample dim is declared
        ref = (w * VAE.p.get_log_prob({"x": VAE.x, "z": out["z"]})).mean(0)
    assert value.shape == (B,)
    torch.testing.assert_close(value, ref)


def test_a_column_weight_against_per_feature_values_keeps_their_shape():
    p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"], features_shape=[3])
    x = {"x": torch.randn(4, 3), "z": torch.randn(4, 3), "w": torch.rand(4, 1)}
    got = (Parameter("w") * p.log_prob(sum_features=False)).eval(x)
    torch.testing.assert_close(got, x["w"] * p.get_log_prob(x, sum_features=False))


def test_a_row_weight_outside_an_expectation_is_refused_even_when_torch_keeps_its_shape():
    # (1, B) * (B,) is (1, B) in torch: one extra leading dim that is no sample dim
    kl = KullbackLeibler(VAE.q, VAE.prior)
    with pytest.raises(ShapeError, match=r"\(1, 5\)"):
        (Parameter("w") * kl).eval({"x": VAE.x, "w": torch.ones(1, B)})
