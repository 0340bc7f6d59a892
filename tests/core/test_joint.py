"""Joint distributions: the graph, ancestral sampling, log-densities, marginalize and replace."""

from __future__ import annotations

import random

import networkx as nx
import pytest
import torch
from torch import nn

from dgmcore.distributions import Distribution, JointDistribution, extra_sample_dims
from dgmcore.errors import GraphError, InputTypeError, MissingVariableError, NoDensityError
from tests.core.families import Bernoulli, Decoder, Doubler, Encoder, Normal

D = 2  # features of every variable in the random graphs


class LinearGaussian(Normal):
    """v ~ N(sum_i w_i * parent_i + b, s): a factor with any number of parents.

    Each call appends its formula to ``log`` so tests can check the order factors run in.
    """

    def __init__(self, var: str, parents: list[str], log: list[str]) -> None:
        super().__init__(var=[var], cond_var=parents, name="p", scale=torch.rand(D) + 0.5)
        self.w = nn.Parameter(torch.randn(len(parents)))
        self.b = nn.Parameter(torch.randn(D))
        self.log = log

    def forward(self, **parents: torch.Tensor) -> dict[str, torch.Tensor]:
        self.log.append(self.var[0])
        self.received = dict(parents)  # what the factor was actually drawn from
        loc = self.b
        for w, v in zip(self.w, self.cond_var, strict=True):
            loc = loc + w * parents[v]
        return {"loc": loc}

    def reference(self, values: dict[str, torch.Tensor]) -> torch.Tensor:
        """log N(value | mean, scale) computed here, independently of dgmcore."""
        loc = self.b
        for w, v in zip(self.w, self.cond_var, strict=True):
            loc = loc + w * values[v]
        return torch.distributions.Normal(loc, self.scale).log_prob(values[self.var[0]]).sum(-1)


def random_dag(seed: int, log: list[str]) -> tuple[list[Distribution], dict[str, list[str]], list[str]]:
    """Factors of a random DAG over up to 6 variables; some parents are external inputs.

    Returns the factors (in a random order), each variable's parents, and the inputs.
    """
    rng = random.Random(seed)
    n = rng.randint(1, 6)
    names = [f"v{i}" for i in range(n)]
    inputs = [f"u{i}" for i in range(rng.randint(0, 2))]
    parents: dict[str, list[str]] = {}
    factors: list[Distribution] = []
    for i, v in enumerate(names):
        pool = names[:i] + inputs
        ps = [u for u in pool if rng.random() < 0.5]
        parents[v] = ps
        if ps:
            factors.append(LinearGaussian(v, ps, log))
        else:
            factors.append(Normal(var=[v], loc=torch.randn(D), scale=torch.rand(D) + 0.5))
    used = sorted({u for ps in parents.values() for u in ps if u in inputs})
    rng.shuffle(factors)
    return factors, parents, used


def multiply(factors: list[Distribution], seed: int) -> Distribution:
    """Multiply in a random bracketing, so joints of joints appear."""
    rng = random.Random(seed)
    items = list(factors)
    while len(items) > 1:
        i = rng.randrange(len(items) - 1)
        items[i : i + 2] = [items[i] * items[i + 1]]
    return items[0] if len(factors) > 1 else JointDistribution(factors)


SEEDS = range(30)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_dag_graph_order_and_log_prob(seed: int) -> None:
    log: list[str] = []
    factors, parents, inputs = random_dag(seed, log)
    joint = multiply(factors, seed)
    # the graph: nodes = variables, u -> v when v's factor conditions on u, factor attribute
    g = joint.graph
    assert isinstance(g, nx.DiGraph)
    assert set(g.nodes) == set(parents) | set(inputs)
    assert set(g.edges) == {(u, v) for v, ps in parents.items() for u in ps}
    by_var = {f.var[0]: f for f in factors}
    for v in parents:
        assert g.nodes[v]["factor"] is by_var[v]
    for u in inputs:
        assert "factor" not in g.nodes[u]
    assert sorted(joint.var) == sorted(parents)
    assert sorted(joint.cond_var) == sorted(inputs)
    # ancestral sampling in topological order
    x_dict = {u: torch.randn(3, D) for u in inputs}
    log.clear()
    s = joint.sample(x_dict, batch_n=3, sample_shape=(2,))
    for v, ps in parents.items():
        assert s[v].shape == (2, 3, D)
        if v in log:
            assert all(log.index(p) < log.index(v) for p in ps if p in log)
    # log-density: the sum of the factors', computed independently
    ref = sum(
        f.reference(s) if isinstance(f, LinearGaussian) else
        torch.distributions.Normal(f.loc, f.scale).log_prob(s[f.var[0]]).sum(-1)
        for f in factors
    )
    with extra_sample_dims(1):  # scored outside a loss: say which leading dim is the sample's
        lp = joint.get_log_prob(s)
    assert lp.shape == (2, 3)
    torch.testing.assert_close(lp, ref.expand(2, 3))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_dag_given_values_are_used_not_resampled(seed: int) -> None:
    log: list[str] = []
    factors, parents, inputs = random_dag(seed, log)
    joint = multiply(factors, seed + 100)
    rng = random.Random(seed)
    given = {u: torch.randn(4, D) for u in inputs}
    chosen = [v for v in parents if rng.random() < 0.4]
    given.update({v: torch.full((4, D), 100.0 + i) for i, v in enumerate(chosen)})
    s = joint.sample(given)
    for v in chosen:
        assert s[v] is given[v]
    # children of a given variable were drawn from the given value: their forward received it,
    # and their samples lie within 8 scales of the mean computed from it (given values are >= 100,
    # so a child drawn from a resampled parent lies far off)
    by_var = {f.var[0]: f for f in factors}
    for v, ps in parents.items():
        if v in chosen or not ps:
            continue
        f = by_var[v]
        assert isinstance(f, LinearGaussian)
        for p in ps:
            assert torch.equal(f.received[p], s[p]), (v, p)
            if p in given:
                assert torch.equal(f.received[p], given[p]), (v, p)
        with torch.no_grad():
            mean = f.b + sum(w * s[p] for w, p in zip(f.w, ps, strict=True))
        assert ((s[v] - mean).abs() < 8 * f.scale).all(), v


def test_joint_texts_and_graph_of_a_vae() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[2])
    p = Decoder()
    joint = p * prior
    assert isinstance(joint, JointDistribution)
    assert joint.prob_text == "p(x,z)"
    assert joint.prob_factorized_text == "p(x|z)p(z)"
    assert joint.latex == r"p\left(x|z\right) p\left(z\right)"
    assert joint._repr_latex_() == "$" + joint.latex + "$"
    assert list(joint.graph.edges) == [("z", "x")]
    assert joint.factors() == [p, prior]
    text = str(joint)
    assert "p(x,z) = p(x|z)p(z)" in text and "Linear(in_features=2, out_features=8" in text


def test_print_latex_of_a_joint(capsys: pytest.CaptureFixture[str]) -> None:
    prior = Normal(var=["z_1"], loc=0.0, scale=1.0)
    joint = Normal(var=["x"], cond_var=["z_1"], loc="z_1", scale=1.0) * prior
    joint.print_latex()
    assert capsys.readouterr().out.strip() == r"p\left(x|z_{1}\right) p\left(z_{1}\right)"


def test_joint_of_joints_flattens_and_multiplies_again() -> None:
    a = Normal(var=["a"], loc=0.0, scale=1.0, features_shape=[2])
    b = Normal(var=["b"], cond_var=["a"], loc="a", scale=1.0)
    c = Normal(var=["c"], cond_var=["b"], loc="b", scale=1.0)
    d = Normal(var=["d"], cond_var=["c", "a"], loc="c", scale=1.0)
    joint = (d * c) * (b * a)
    assert joint.factors() == [d, c, b, a]
    assert joint.prob_factorized_text == "p(d|c,a)p(c|b)p(b|a)p(a)"
    assert joint.prob_text == "p(d,c,b,a)"
    assert joint.cond_var == []
    s = joint.sample(batch_n=3)
    assert all(s[v].shape == (3, 2) for v in "abcd")
    torch.testing.assert_close(
        joint.get_log_prob(s), sum(f.get_log_prob(s) for f in (a, b, c, d))
    )


def test_joint_with_conditioning_inputs() -> None:
    q = Encoder()
    h = Normal(var=["w"], cond_var=["z", "y"], loc="z", scale="y")
    joint = h * q
    assert joint.cond_var == ["y", "x"] and joint.input_var == ["y", "x"]
    assert "factor" not in joint.graph.nodes["x"] and "factor" not in joint.graph.nodes["y"]
    x, y = torch.randn(5, 4), torch.rand(5, 2) + 0.5
    s = joint.sample({"x": x, "y": y})
    assert s["z"].shape == s["w"].shape == (5, 2)
    # a root factor takes its batch from the joint's inputs
    joint2 = Normal(var=["r"], loc=0.0, scale=1.0, features_shape=[3]) * q
    assert joint2.sample({"x": x})["r"].shape == (5, 3)


def test_only_the_joints_own_variables_set_the_batch() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[2])
    p = Normal(var=["y"], cond_var=["z", "x"], loc="z", scale="x")
    joint = p * prior
    s = joint.sample({"t": torch.ones(1), "x": torch.ones(8, 2)})  # "t" is not a variable of the joint
    assert s["z"].shape == s["y"].shape == (8, 2)
    # a given non-root value fixes the batch of the roots too
    s = (p * prior).sample({"y": torch.zeros(6, 2), "x": torch.ones(6, 2)})
    assert s["z"].shape == (6, 2)


def test_joint_log_prob_skips_deterministic_factors() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[2])
    f = Doubler()
    p = Normal(var=["y"], cond_var=["h"], loc="h", scale=1.0)
    joint = p * f * prior
    s = joint.sample(batch_n=4)
    torch.testing.assert_close(s["h"], 2 * s["z"])
    without_h = {"z": s["z"], "y": s["y"]}
    expected = prior.get_log_prob(s) + p.get_log_prob(s)
    torch.testing.assert_close(joint.get_log_prob(s), expected)
    torch.testing.assert_close(joint.get_log_prob(without_h), expected)  # h is recomputed
    assert set(without_h) == {"z", "y"}  # not mutated


def test_renamed_deterministic_factor_still_contributes_no_density() -> None:
    prior = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[2])
    p = Normal(var=["y"], cond_var=["h"], loc="h", scale=1.0)
    joint = (p * Doubler() * prior).replace_var(h="g")
    s = joint.sample(batch_n=3)
    assert set(s) == {"z", "g", "y"}
    expected = prior.get_log_prob(s) + p.get_log_prob({"h": s["g"], "y": s["y"]})
    torch.testing.assert_close(joint.get_log_prob(s), expected)
    torch.testing.assert_close(joint.get_log_prob({"z": s["z"], "y": s["y"]}), expected)


def test_joint_of_only_deterministic_factors_has_no_density() -> None:
    joint = Doubler("h", "z") * Doubler("g", "h")
    with pytest.raises(NoDensityError, match=r"f\(h,g\|z\)|no factor"):
        joint.get_log_prob({"z": torch.ones(1, 2)})


def test_joint_sample_mean_and_variance() -> None:
    prior = Normal(var=["z"], loc=torch.zeros(3), scale=torch.ones(3))
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=torch.full((3,), 2.0))
    joint = p * prior
    z = torch.randn(4, 3)
    torch.testing.assert_close(joint.sample_mean({"z": z}), z)
    torch.testing.assert_close(joint.sample_variance({"z": z}), torch.full((4, 3), 4.0))
    assert joint.sample_mean().shape == (1, 3)
    # a joint of independent factors: entropy is the sum
    indep = Normal(var=["a"], loc=torch.zeros(3), scale=torch.ones(3)) * prior
    torch.testing.assert_close(indep.get_entropy(), 2 * torch.distributions.Normal(0.0, 1.0).entropy() * 3)
    with pytest.raises(NoDensityError, match="analytical=False"):
        joint.get_entropy()


def test_name_setter_on_a_joint() -> None:
    joint = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0) * Normal(var=["z"], loc=0.0, scale=1.0)
    joint.name = "g"
    assert joint.name == "g"
    assert joint.prob_text == "g(x,z)"
    with pytest.raises(InputTypeError):
        joint.name = ""


def test_joint_reparam_gradients_flow_through_ancestors() -> None:
    loc = nn.Parameter(torch.zeros(2))
    prior = Normal(var=["z"], loc=loc, scale=torch.ones(2))
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    joint = p * prior
    assert joint.has_reparam
    s = joint.sample(batch_n=3, reparam=True)
    s["x"].sum().backward()
    torch.testing.assert_close(loc.grad, torch.full((2,), 3.0))
    assert not (Bernoulli(var=["b"], cond_var=["z"], logits="z") * prior).has_reparam


def test_joint_return_all_false() -> None:
    q = Encoder()
    joint = Normal(var=["y"], cond_var=["z"], loc="z", scale=1.0) * q
    out = joint.sample({"x": torch.randn(2, 4), "extra": torch.ones(1)}, return_all=False)
    assert set(out) == {"y", "z"}


def test_the_data_distribution_multiplies_without_a_false_cycle():
    from dgmcore.distributions import EmpiricalDistribution

    q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
    p_data = EmpiricalDistribution(["x"])
    x = torch.randn(5, 4)
    for joint in (q * p_data, p_data * q):
        assert joint.input_var == ["x"]  # the data must be given
        assert set(joint.graph.edges) == {("x", "z")}
        out = joint.sample({"x": x})
        assert out["x"] is x and out["z"].shape == (5, 4)
    aggregate = (q * p_data).marginalize_var("x")
    assert aggregate.prob_text == "q(z)" and aggregate.input_var == ["x"]
    assert set(aggregate.sample({"x": x}, return_all=False)) == {"z"}
    with pytest.raises(MissingVariableError, match="'x'"):
        (q * p_data).sample({})
    with pytest.raises(GraphError, match="cycle"):  # a real cycle is still one
        _ = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"]) * Normal(
            loc="z", scale=1.0, var=["x"], cond_var=["z"]
        )
