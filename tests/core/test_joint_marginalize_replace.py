"""Joint distributions: marginalize_var and replace_var, and regressions of the joint layer.

The graph, ancestral sampling and log-densities are in ``test_joint.py``.
"""

from __future__ import annotations

import pytest
import torch

from dgmcore.distributions import Distribution, JointDistribution, MarginalizedDistribution
from dgmcore.errors import GraphError, InputTypeError, NoDensityError
from tests.core.families import Encoder, Normal

D = 2  # features of each variable

# --- marginalize_var ---------------------------------------------------------------------------


def _chain() -> tuple[Distribution, Distribution, Distribution]:
    pz = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[3])
    px = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    py = Normal(var=["y"], cond_var=["x"], loc="x", scale=1.0)
    return py, px, pz


@pytest.mark.parametrize("hidden", ["z", ["z"], ("x", "z")], ids=["name", "list", "two"])
def test_marginalize_var(hidden: str | list[str] | tuple[str, ...]) -> None:
    py, px, pz = _chain()
    joint = py * px * pz
    m = joint.marginalize_var(hidden)
    names = [hidden] if isinstance(hidden, str) else list(hidden)
    assert isinstance(m, MarginalizedDistribution)
    kept = [v for v in ["y", "x", "z"] if v not in names]
    assert m.var == kept
    assert m.prob_text == f"p({','.join(kept)})"
    assert "\\int" in m.prob_factorized_text and "\\int" in m.latex
    s = m.sample(batch_n=2)
    assert set(s) == set(kept)
    assert all(t.shape == (2, 3) for t in s.values())
    with pytest.raises(NoDensityError, match="log_marginal"):
        m.get_log_prob(s)
    # a value the caller gives for a marginalised variable is used, and returned as given
    z = torch.full((2, 3), 50.0)
    s = m.sample({"z": z})
    assert s["z"] is z
    if "x" not in names:
        assert (s["x"] > 40).all()  # drawn from p(x|z) at the given z


def test_marginalize_a_single_factor_and_multiply_again() -> None:
    py, px, pz = _chain()
    m = (px * pz).marginalize_var("z")
    assert m.prob_text == "p(x)"
    joint = py * m
    assert joint.prob_text == "p(y,x)"
    assert set(joint.graph.edges) == {("x", "y")}
    s = joint.sample(batch_n=4)
    assert set(s) == {"x", "y"} and s["y"].shape == (4, 3)


def test_marginalize_errors() -> None:
    py, px, pz = _chain()
    joint = px * pz
    with pytest.raises(GraphError, match="'w'"):
        joint.marginalize_var("w")
    with pytest.raises(GraphError, match="every variable"):
        joint.marginalize_var(["x", "z"])
    with pytest.raises(GraphError):
        joint.marginalize_var([])


# --- replace_var -------------------------------------------------------------------------------------


def test_replace_var_on_a_factor() -> None:
    q = Encoder()
    r = q.replace_var(x="obs", z="code")
    assert r.prob_text == "q(code|obs)"
    assert r.var == ["code"] and r.cond_var == ["obs"] and r.input_var == ["obs"]
    x = torch.randn(3, 4)
    s = r.sample({"obs": x})
    assert set(s) == {"obs", "code"}
    torch.testing.assert_close(
        r.get_log_prob({"obs": x, "code": s["code"]}), q.get_log_prob({"x": x, "z": s["code"]})
    )
    torch.testing.assert_close(r.sample_mean({"obs": x}), q.sample_mean({"x": x}))
    assert r.get_params({"obs": x}).keys() == {"loc", "scale"}
    assert r.unwrapped is q and list(r.parameters()) == list(q.parameters())
    assert "Linear" in str(r)
    # renaming twice composes
    assert r.replace_var(code="c").prob_text == "q(c|obs)"
    with pytest.raises(InputTypeError, match="'w'"):
        q.replace_var(w="v")


def test_replace_var_everywhere_in_a_joint() -> None:
    py, px, pz = _chain()
    joint = py * px * pz
    r = joint.replace_var(x="w")
    assert r.prob_factorized_text == "p(y|w)p(w|z)p(z)"
    assert set(r.graph.edges) == {("z", "w"), ("w", "y")}
    assert r.graph.nodes["w"]["factor"].unwrapped is px
    s = r.sample(batch_n=2)
    assert set(s) == {"y", "w", "z"}
    renamed = {"x" if k == "w" else k: v for k, v in s.items()}
    torch.testing.assert_close(r.get_log_prob(s), joint.get_log_prob(renamed))
    # a conditioning input of the joint is renamed too
    rq = (Normal(var=["y"], cond_var=["z"], loc="z", scale=1.0) * Encoder()).replace_var(x="obs")
    assert rq.input_var == ["obs"]
    with pytest.raises(InputTypeError, match="'nothere'"):
        joint.replace_var(nothere="v")


def test_replace_var_of_a_marginal() -> None:
    py, px, pz = _chain()
    m = (py * px * pz).marginalize_var("x").replace_var(x="h", y="obs")
    assert m.prob_text == "p(obs,z)"
    assert set(m.sample(batch_n=1)) == {"obs", "z"}


def test_products_with_non_distributions_fail() -> None:
    p = Normal(var=["x"], loc=0.0, scale=1.0)
    with pytest.raises(TypeError):
        p * 2  # noqa: B018
    with pytest.raises(GraphError, match="int"):
        JointDistribution([p, 3])  # type: ignore[list-item]


# --- regressions ---------------------------------------------------------------------------------


def test_marginalising_twice_hides_both_variables() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[D])
    px = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    py = Normal(var=["y"], cond_var=["z"], loc="z", scale=1.0)
    m = (px * py * prior).marginalize_var("z").marginalize_var("y")
    assert m.var == ["x"]
    assert sorted(m.sample(batch_n=2)) == ["x"]
    assert m.prob_factorized_text == "\\int p(x|z)p(y|z)p(z) dz,y"
    with pytest.raises(GraphError, match="can marginalise only"):
        m.marginalize_var("z")


def _gaussian_chain() -> Distribution:
    # x | z ~ N(z, 1), z ~ N(0, 1): E[x] = 0, Var[x] = 2
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[1])
    return Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0) * prior


def test_joint_moments_follow_the_laws_of_total_expectation_and_variance() -> None:
    joint = _gaussian_chain()
    torch.manual_seed(0)
    n = 20000
    mean = joint.sample_mean(n_samples=n)
    var = joint.sample_variance(n_samples=n)
    assert abs(mean.item()) < 5 * (2 / n) ** 0.5
    assert abs(var.item() - 2.0) < 5 * (8 / n) ** 0.5
    with pytest.raises(InputTypeError, match="n_samples"):
        joint.sample_mean(n_samples=0)


def test_joint_moments_are_exact_given_every_parent() -> None:
    joint = _gaussian_chain()
    z = torch.randn(3, 1)
    torch.testing.assert_close(joint.sample_mean({"z": z}), z)
    torch.testing.assert_close(joint.sample_variance({"z": z}), torch.ones(3, 1))
