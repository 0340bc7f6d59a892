"""Signed evaluation: terms computed as their negative reach sums without a negation.

A family scoring with a cross-entropy (``neg_log_prob_value``) gives minus its
log-density; ``-ELBO``, ``KL - E[log p]`` and joints that mix such factors add
or subtract it as a hand-written loss would. The values must be those of the
formula as written, and the autograd graph must hold no more negations than
the naive evaluation of that formula (here: none where a hand-written loss has
none).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.distributions import Normal as TNormal
from torch.nn import functional as F

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import DGMError, NoDensityError
from dgmcore.losses import ELBO, KullbackLeibler, LogProb, Loss, ValueLoss
from dgmcore.losses._arithmetic import BinaryLoss, UnaryLoss
from tests.families import Normal
from tests.losses.conftest import Encoder, grads, seeded_linear


class CrossEntropyBernoulli(ParametricDistribution):
    """A Bernoulli scored by its binary cross-entropy, as a fast family does."""

    family = torch.distributions.Bernoulli
    params = ("logits",)
    def log_prob_value(self, dist, value):  # type: ignore[no-untyped-def]
        return -self.neg_log_prob_value(dist, value)

    def neg_log_prob_value(self, dist, value):  # type: ignore[no-untyped-def]
        return F.binary_cross_entropy_with_logits(dist.logits, value, reduction="none")


class Decoder(CrossEntropyBernoulli):
    def __init__(self, x_dim: int = 6, z_dim: int = 2) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p")
        self.fc = seeded_linear(z_dim, x_dim, 5)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.fc(z)}


def negations(t: torch.Tensor) -> int:
    """The number of negation nodes in ``t``'s autograd graph."""
    seen, stack, n = set(), [t.grad_fn], 0
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        n += type(node).__name__.startswith("Neg")
        stack.extend(f for f, _ in node.next_functions)
    return n


def _model():
    q = Encoder(x_dim=6, z_dim=2)
    p = Decoder()
    prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p")
    x = torch.bernoulli(torch.full((5, 6), 0.4))
    return q, p, prior, x


def _hand(q, p, x, eps, analytic):
    """The per-example negative ELBO written in PyTorch."""
    h = q.fc2(torch.tanh(q.fc1(x)))
    loc, scale = h[..., :2], F.softplus(h[..., 2:]) + 1e-3
    z = loc + scale * eps
    nll = F.binary_cross_entropy_with_logits(p.fc(z), x, reduction="none").sum(-1)
    if analytic:
        kl = torch.distributions.kl_divergence(TNormal(loc, scale), TNormal(0.0, 1.0)).sum(-1)
    else:
        kl = TNormal(loc, scale).log_prob(z).sum(-1) - TNormal(0.0, 1.0).log_prob(z).sum(-1)
    return kl + nll


def test_negative_elbo_adds_the_cross_entropy():
    torch.manual_seed(0)
    q, p, prior, x = _model()
    torch.manual_seed(1)
    value = (-ELBO(p * prior, q)).eval({"x": x})
    value.sum().backward()
    got = grads([q, p])
    torch.manual_seed(1)
    eps = torch.randn(5, 2)
    ref = _hand(q, p, x, eps, analytic=False)
    ref.sum().backward()
    torch.testing.assert_close(value, ref)
    for g, w in zip(got, grads([q, p]), strict=True):
        torch.testing.assert_close(g, w)
    assert negations(value) == negations(ref)  # torch's Normal.log_prob has its own


def test_kl_minus_expected_log_likelihood_is_one_addition():
    torch.manual_seed(0)
    q, p, prior, x = _model()
    loss = KullbackLeibler(q, prior) - p.log_prob().expectation(q)
    torch.manual_seed(1)
    value = loss.eval({"x": x})
    torch.manual_seed(1)
    ref = _hand(q, p, x, torch.randn(5, 2), analytic=True)
    torch.testing.assert_close(value, ref)
    assert negations(value) == negations(ref)
    # the bound itself, log p - log q, needs no negation either: log p(x,z) = log p(z) - BCE
    torch.manual_seed(1)
    bound = ELBO(p * prior, q).eval({"x": x})
    torch.manual_seed(1)
    hand = _hand(q, p, x, torch.randn(5, 2), analytic=False)
    torch.testing.assert_close(bound, -hand)
    assert negations(bound) == negations(hand)


def test_joint_gives_either_sign_at_one_subtraction():
    torch.manual_seed(0)
    q, p, prior, x = _model()
    data = {"x": x, "z": torch.randn(5, 2)}
    joint = p * prior
    ref = p.get_log_prob(data) + prior.get_log_prob(data)
    torch.testing.assert_close(joint.get_log_prob(data), ref)
    for prefer in (False, True):
        value, negated = joint.get_signed_log_prob(data, prefer_negated=prefer)
        assert negated == prefer
        torch.testing.assert_close(-value if negated else value, ref)
        assert negations(value) == 0
    # a factor of the family's own sign: as computed, flagged
    value, negated = p.get_signed_log_prob(data)
    assert negated
    torch.testing.assert_close(-value, p.get_log_prob(data))
    # a renamed distribution hands its base's sign on
    renamed = p.replace_var(x="y")
    value, negated = renamed.get_signed_log_prob({"y": x, "z": data["z"]})
    assert negated
    torch.testing.assert_close(-value, p.get_log_prob(data))


# -- any formula: the written value, never more negations than written -----------------------

_DATA_SEED = 3


def _leaves():
    torch.manual_seed(_DATA_SEED)
    q, p, prior, x = _model()
    data = {"x": x, "z": torch.randn(5, 2)}
    return [LogProb(p), LogProb(q), LogProb(p * prior), LogProb(prior * p), ValueLoss(1.5)], data


def _naive(loss: Loss, data) -> torch.Tensor:
    """The formula evaluated node by node, each term in its own sign."""
    if isinstance(loss, LogProb):
        return loss.p.get_log_prob(data)
    if isinstance(loss, ValueLoss):
        return loss.eval(data)
    if isinstance(loss, UnaryLoss):
        inner = _naive(loss.a, data)
        return {"neg": torch.neg, "abs": torch.abs, "mean": torch.mean, "sum": torch.sum}[loss.op](inner)
    assert isinstance(loss, BinaryLoss)
    a, b = _naive(loss.a, data), _naive(loss.b, data)
    return {"+": torch.add, "-": torch.sub, "*": torch.mul}[loss.op](a, b)


def _formulas(leaves):
    leaf = st.sampled_from(leaves)

    def grow(children):
        unary = st.tuples(st.sampled_from(["neg", "abs", "mean"]), children).map(
            lambda t: UnaryLoss(t[1], t[0])
        )
        binary = st.tuples(st.sampled_from("+-*"), children, children).map(
            lambda t: BinaryLoss(t[1], t[2], t[0])
        )
        return unary | binary

    return st.recursive(leaf, grow, max_leaves=6)


_LEAVES, _DATA = _leaves()


@settings(max_examples=150, deadline=None)
@given(_formulas(_LEAVES))
def test_any_formula_has_its_written_value_and_no_extra_negation(loss):
    value = loss.eval(_DATA)
    ref = _naive(loss, _DATA)
    torch.testing.assert_close(value, ref)
    if value.requires_grad:
        assert negations(value) <= negations(ref), str(loss)


# -- a family overriding one view of its density: losses never bypass it -------------------


class ShiftedNormal(Normal):
    """A density of its own (off by one nat): written as get_log_prob only."""

    def get_log_prob(self, x_dict, sum_features=True, feature_dims=None):  # type: ignore[no-untyped-def]
        return super().get_log_prob(x_dict, sum_features, feature_dims) + 1.0


class NegatedShiftedNormal(ShiftedNormal):
    """On top of it, written as get_signed_log_prob only (flips the sign it reports)."""

    def get_signed_log_prob(self, x_dict, sum_features=True, feature_dims=None, prefer_negated=False):  # type: ignore[no-untyped-def]
        value, negated = super().get_signed_log_prob(x_dict, sum_features, feature_dims, prefer_negated)
        return -value, not negated


def test_an_override_of_either_view_is_what_losses_see():
    data = {"x": torch.tensor([[0.5, -1.0]]), "z": torch.zeros(1, 2)}
    ref = TNormal(torch.zeros(1, 2), 1.0).log_prob(data["x"]).sum(-1)
    for cls in (ShiftedNormal, NegatedShiftedNormal):
        p = cls(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        torch.testing.assert_close(p.get_log_prob(data), ref + 1.0)
        value, negated = p.get_signed_log_prob(data)
        torch.testing.assert_close(-value if negated else value, ref + 1.0)
        torch.testing.assert_close(LogProb(p).eval(data), ref + 1.0)
        torch.testing.assert_close((-LogProb(p)).eval(data), -ref - 1.0)
        prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        joint_ref = ref + 1.0 + TNormal(0.0, 1.0).log_prob(data["z"]).sum(-1)
        torch.testing.assert_close((p * prior).get_log_prob(data), joint_ref)
    assert NegatedShiftedNormal(loc="z", scale=1.0, var=["x"], cond_var=["z"]).get_signed_log_prob(data)[1]


def test_a_marginal_has_no_density_through_a_loss_either():
    torch.manual_seed(0)
    q, p, prior, x = _model()
    marginal = (p * prior).marginalize_var("z")
    with pytest.raises(NoDensityError, match="log_marginal"):
        LogProb(marginal).eval({"x": x})
    with pytest.raises(NoDensityError, match="log_marginal"):
        (-LogProb(marginal)).eval({"x": x})


class LogDensityBernoulli(CrossEntropyBernoulli):
    """A third party's Bernoulli: log_prob_value overridden with a log density, as documented."""

    def log_prob_value(self, dist, value):  # type: ignore[no-untyped-def]
        return torch.distributions.Bernoulli(logits=dist.logits).log_prob(value)


def test_a_subclass_that_overrides_the_log_density_never_gets_a_wrong_sign():
    # issue 13: the inherited negated_log_prob flag turned -2.079 into +2.079, silently
    p = LogDensityBernoulli(logits=torch.zeros(3), var=["x"])
    data = {"x": torch.ones(1, 3)}
    expected = 3 * torch.log(torch.tensor(0.5))
    torch.testing.assert_close(p.get_log_prob(data), expected.reshape(1))
    value, negated = p.get_signed_log_prob(data, prefer_negated=True)
    torch.testing.assert_close(-value if negated else value, expected.reshape(1))
    for loss, want in ((LogProb(p), expected), (-LogProb(p), -expected), (1.0 - LogProb(p), 1.0 - expected)):
        torch.testing.assert_close(loss.eval(data), want.reshape(1))


def test_the_removed_sign_flag_is_refused_rather_than_misread():
    class OldStyle(CrossEntropyBernoulli):
        negated_log_prob = True

    with pytest.raises(DGMError, match="neg_log_prob_value"):
        OldStyle(logits=0.0, var=["x"], features_shape=[2])
