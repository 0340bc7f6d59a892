"""The distribution API of DESIGN §3 on single factors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dgmcore.distributions import Distribution, EmpiricalDistribution, ParametricDistribution
from dgmcore.errors import NoDensityError, ShapeError
from dgmcore.losses import LogProb, Prob
from tests.core.families import Bernoulli, Decoder, Doubler, Encoder, Normal

# --- batch dimension rules ----------------------------------------------------------------------


def test_batch_is_batch_n_else_one_for_an_unconditional_distribution() -> None:
    p = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[2])
    assert p.sample()["z"].shape == (1, 2)
    assert p.sample(batch_n=6)["z"].shape == (6, 2)
    assert p.sample(batch_n=6, sample_shape=(4,))["z"].shape == (4, 6, 2)
    assert p.sample(batch_n=6, sample_shape=torch.Size([4, 3]))["z"].shape == (4, 3, 6, 2)


def test_batch_follows_the_conditioning_inputs() -> None:
    q = Encoder()
    x = torch.randn(7, 4)
    assert q.sample({"x": x})["z"].shape == (7, 2)
    assert q.sample({"x": x}, sample_shape=(3,))["z"].shape == (3, 7, 2)
    assert q.sample({"x": x}, sample_shape=(3, 2))["z"].shape == (3, 2, 7, 2)


def test_return_all_and_extra_entries() -> None:
    q = Encoder()
    x, extra = torch.randn(3, 4), torch.ones(1)
    out = q.sample({"x": x, "other": extra})
    assert set(out) == {"x", "z", "other"}
    assert out["x"] is x and out["other"] is extra
    assert set(q.sample({"x": x, "other": extra}, return_all=False)) == {"z"}


def test_sample_never_mutates_its_input() -> None:
    q = Encoder()
    x = torch.randn(3, 4)
    x_dict = {"x": x}
    clone, version = x.clone(), x._version
    q.sample(x_dict)
    q.get_log_prob({**x_dict, "z": torch.zeros(3, 2)})
    assert set(x_dict) == {"x"} and x_dict["x"] is x  # the dict: no key added, none replaced
    assert x._version == version and torch.equal(x, clone)  # the tensor: no in-place write


# --- parameters: constants, conditioning variables, forward ------------------------------------


def test_one_conditioning_variable_may_feed_several_parameters() -> None:
    p = Normal(var=["x"], cond_var=["y"], loc="y", scale="y")
    y = torch.rand(4, 3) + 0.5
    params = p.get_params({"y": y})
    assert params["loc"] is y and params["scale"] is y
    x = torch.randn(4, 3)
    torch.testing.assert_close(
        p.get_log_prob({"x": x, "y": y}), torch.distributions.Normal(y, y).log_prob(x).sum(-1)
    )


def test_constant_and_conditioning_variable_together() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=2.0)
    assert isinstance(p.scale, torch.Tensor) and "scale" in dict(p.named_buffers())
    z = torch.randn(5, 3)
    x = torch.randn(5, 3)
    torch.testing.assert_close(
        p.get_log_prob({"x": x, "z": z}), torch.distributions.Normal(z, 2.0).log_prob(x).sum(-1)
    )
    assert p.features_shape == ()  # inferred per call from the shapes at hand, never kept


def test_constants_are_buffers_that_follow_the_module() -> None:
    p = Normal(var=["z"], loc=torch.zeros(3), scale=torch.ones(3))
    assert set(dict(p.named_buffers())) == {"loc", "scale"}
    p = p.double()
    assert p.sample()["z"].dtype == torch.float64
    assert set(p.state_dict()) == {"loc", "scale"}


def test_constant_broadcasts_to_features_shape() -> None:
    p = Normal(var=["z"], loc=0.0, scale=1.0, features_shape=[2, 3])
    assert p.state_dict()["loc"].shape == (2, 3)  # stored with features_shape
    assert p.loc.shape == (1, 2, 3)  # read as Pixyz's view, a leading batch dimension of 1
    assert p.sample(batch_n=4)["z"].shape == (4, 2, 3)
    assert p.get_log_prob({"z": torch.zeros(4, 2, 3)}).shape == (4,)


class Generator(Normal):
    """Pixyz style: forward gives the mean; a learned global scale is an nn.Parameter constant."""

    def __init__(self) -> None:
        super().__init__(var=["x"], cond_var=["z"], name="p", scale=nn.Parameter(torch.full((4,), 0.5)))
        self.fc = nn.Linear(2, 4)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loc": self.fc(z)}


def test_network_distribution_with_learned_constant() -> None:
    p = Generator()
    assert "scale" in dict(p.named_parameters())
    z, x = torch.randn(6, 2), torch.randn(6, 4)
    lp = p.get_log_prob({"z": z, "x": x})
    expected = torch.distributions.Normal(p.fc(z), p.scale).log_prob(x).sum(-1)
    torch.testing.assert_close(lp, expected)
    lp.sum().backward()
    assert p.scale.grad is not None and p.fc.weight.grad is not None
    assert p.features_shape == ()  # not declared: inferred per call, never kept
    assert p.sample({"z": z}, sample_shape=(3,))["x"].shape == (3, 6, 4)


def test_forward_inputs_exclude_variables_used_as_parameters() -> None:
    seen = {}

    class Mixed(Normal):
        def __init__(self) -> None:
            super().__init__(var=["x"], cond_var=["h", "m"], loc="m")

        def forward(self, h: torch.Tensor) -> dict[str, torch.Tensor]:
            seen["h"] = h
            return {"scale": h.exp()}

    p = Mixed()
    h, m = torch.randn(3, 2), torch.randn(3, 2)
    params = p.get_params({"h": h, "m": m})
    assert seen["h"] is h and params["loc"] is m
    torch.testing.assert_close(params["scale"], h.exp())


def test_forward_may_return_a_mapping_with_a_subset_overridden() -> None:
    class FromMapping(Normal):
        def __init__(self) -> None:
            super().__init__(var=["x"], cond_var=["h"], scale=1.0)

        def forward(self, h: torch.Tensor):  # type: ignore[no-untyped-def]
            from types import MappingProxyType

            return MappingProxyType({"loc": h})

    h = torch.randn(2, 3)
    torch.testing.assert_close(FromMapping().sample_mean({"h": h}), h)


def test_get_params_returns_a_fresh_dict() -> None:
    q = Encoder()
    x = torch.randn(2, 4)
    a = q.get_params({"x": x})
    a["loc"] = None
    assert isinstance(q.get_params({"x": x})["loc"], torch.Tensor)


# --- feature dimensions ------------------------------------------------------------------------


def test_feature_dims_and_sum_features() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0, features_shape=[2, 3])
    z, x = torch.randn(4, 2, 3), torch.randn(4, 2, 3)
    ref = torch.distributions.Normal(z, 1.0).log_prob(x)
    torch.testing.assert_close(p.get_log_prob({"x": x, "z": z}), ref.sum((-1, -2)))
    torch.testing.assert_close(p.get_log_prob({"x": x, "z": z}, sum_features=False), ref)
    torch.testing.assert_close(p.get_log_prob({"x": x, "z": z}, feature_dims=[-1]), ref.sum(-1))
    ent = torch.distributions.Normal(z, 1.0).entropy()
    torch.testing.assert_close(p.get_entropy({"z": z}), ent.sum((-1, -2)))
    torch.testing.assert_close(p.get_entropy({"z": z}, feature_dims=[1]), ent.sum(1))


def test_features_are_inferred_per_call_and_a_failed_call_changes_nothing() -> None:
    # bad-input R01: one unbatched call used to fix the features for every later call
    q = Encoder(x_dim=4, z_dim=3)
    x, z = torch.randn(8, 4), torch.randn(8, 3)
    before = q.get_log_prob({"x": x, "z": z})
    with pytest.raises(ShapeError, match="leading"):
        q.sample({"x": torch.zeros(4)})  # one example without its batch dimension
    q.sample({"x": torch.randn(5, 4)}, sample_shape=(2,))
    assert q.features_shape == ()
    after = q.get_log_prob({"x": x, "z": z})
    assert after.shape == (8,)
    torch.testing.assert_close(after, before)
    q2 = Encoder(x_dim=4, z_dim=3)
    assert q2.sample({"x": torch.randn(5, 4)}, sample_shape=(2,))["z"].shape == (2, 5, 3)


def test_declared_features_shape_wins() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0, features_shape=[3])
    assert p.features_shape == (3,)
    assert p.get_log_prob({"x": torch.zeros(2, 3), "z": torch.zeros(2, 3)}).shape == (2,)


# --- text --------------------------------------------------------------------------------------------


def test_str_shows_formula_and_network() -> None:
    q = Encoder()
    text = str(q)
    assert "q(z|x)" in text
    assert "Linear(in_features=4, out_features=8" in text
    assert "Encoder" in text and "Network architecture" in text
    assert "p(x)" in str(Normal(var=["x"], loc=0.0, scale=1.0))


def test_names_and_formula_text() -> None:
    p = Normal(var="x", cond_var=["z", "y"], name="p_theta", loc="z", scale="y")
    assert p.var == ["x"] and p.cond_var == ["z", "y"] and p.input_var == ["z", "y"]
    assert p.prob_text == "p_theta(x|z,y)"
    assert p.prob_factorized_text == p.prob_text
    assert p.distribution_name == "Normal"
    p.name = "r"
    assert p.prob_text == "r(x|z,y)"
    assert p.latex == r"r\left(x|z,y\right)"
    assert p._repr_latex_() == "$" + p.latex + "$"


def test_print_latex(capsys: pytest.CaptureFixture[str]) -> None:
    Normal(var=["x_t"], cond_var=["z"], loc="z", scale=1.0).print_latex()
    assert capsys.readouterr().out.strip() == r"p\left(x_{t}|z\right)"


def test_var_lists_are_not_shared_state() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    p.var.append("w")
    p.cond_var.append("w")
    assert p.var == ["x"] and p.cond_var == ["z"]
    # no mutable defaults: two instances built with defaults share nothing
    a, b = Normal(loc=0.0, scale=1.0), Normal(loc=0.0, scale=1.0)
    assert a.var == b.var == ["x"]
    assert a.state_dict()["loc"].data_ptr() != b.state_dict()["loc"].data_ptr()


# --- loss builders --------------------------------------------------------------------------------


def test_log_prob_and_prob_builders() -> None:
    p = Decoder()
    z, x = torch.randn(3, 2), torch.bernoulli(torch.full((3, 4), 0.5))
    lp = p.log_prob()
    assert isinstance(lp, LogProb) and str(lp) == "log p(x|z)"
    torch.testing.assert_close(lp.eval({"x": x, "z": z}), p.get_log_prob({"x": x, "z": z}))
    pr = p.prob()
    assert isinstance(pr, Prob)
    torch.testing.assert_close(pr.eval({"x": x, "z": z}), p.get_log_prob({"x": x, "z": z}).exp())
    torch.testing.assert_close(
        p.log_prob(sum_features=False).eval({"x": x, "z": z}),
        p.get_log_prob({"x": x, "z": z}, sum_features=False),
    )


# --- Deterministic and EmpiricalDistribution -------------------------------------------------------


def test_deterministic_runs_forward_and_has_no_density() -> None:
    f = Doubler()
    z = torch.randn(3, 2)
    out = f.sample({"z": z})
    torch.testing.assert_close(out["h"], 2 * z)
    assert out["z"] is z
    torch.testing.assert_close(f.sample_mean({"z": z}), 2 * z)
    torch.testing.assert_close(f.sample_variance({"z": z}), torch.zeros(3, 2))
    assert f.sample({"z": z}, sample_shape=(4,))["h"].shape == (4, 3, 2)
    with pytest.raises(NoDensityError, match=r"f\(h\|z\)"):
        f.get_log_prob({"z": z, "h": 2 * z})
    with pytest.raises(NoDensityError):
        f.get_entropy({"z": z})


def test_empirical_distribution_returns_the_data() -> None:
    p = EmpiricalDistribution(["x"])
    x = torch.randn(5, 2)
    assert p.sample({"x": x})["x"] is x
    assert p.input_var == ["x"] and p.prob_text == "p_{data}(x)"
    with pytest.raises(NoDensityError, match="empirical"):
        p.get_log_prob({"x": x})
    # sample dims are prepended, so an expectation over the data keeps the batch
    assert p.sample({"x": x}, sample_shape=(3,))["x"].shape == (3, 5, 2)
    q = Normal(var=["x"], loc=0.0, scale=1.0, features_shape=[2])
    expected = q.get_log_prob({"x": x})
    torch.testing.assert_close(q.log_prob().expectation(p).eval({"x": x}), expected)
    torch.testing.assert_close(q.log_prob().expectation(p, sample_shape=(4,)).eval({"x": x}), expected)


def test_base_distribution_subclass_contract() -> None:
    class Incomplete(Distribution):
        pass

    d = Incomplete(var=["a"])
    with pytest.raises(NotImplementedError):
        d.sample()
    with pytest.raises(NoDensityError, match=r"p\(a\)"):
        d.get_log_prob({"a": torch.zeros(1)})
    assert d.factors() == [d] and d.unwrapped is d


def test_family_without_family_attribute_is_a_clear_error() -> None:
    from dgmcore.errors import DGMError

    class NoFamily(ParametricDistribution):
        params = ("loc",)

    with pytest.raises(DGMError, match="NoFamily.*family"):
        NoFamily(loc=0.0)


def test_bernoulli_log_prob_uses_values_as_given() -> None:
    p = Bernoulli(var=["x"], cond_var=["z"], logits="z")
    z = torch.randn(4, 3)
    x = torch.bernoulli(torch.sigmoid(z))
    torch.testing.assert_close(
        p.get_log_prob({"x": x, "z": z}), torch.distributions.Bernoulli(logits=z).log_prob(x).sum(-1)
    )


def test_no_function_in_dgmcore_has_a_mutable_default() -> None:
    import ast
    from pathlib import Path

    import dgmcore

    mutable = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
    found = []
    files = sorted(Path(dgmcore.__file__).parent.rglob("*.py"))
    assert len(files) > 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                defaults = node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
                found += [f"{path.name}:{node.lineno}" for d in defaults if isinstance(d, mutable)]
    assert not found
