"""Errors (DESIGN §7): bad input gets a clear, typed message, never a silent wrong answer."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import dgmcore
from dgmcore import errors
from dgmcore.distributions import Distribution, JointDistribution
from dgmcore.errors import (
    DGMError,
    ForwardError,
    GraphError,
    InputTypeError,
    MissingVariableError,
    NoDensityError,
    ParameterError,
    ShapeError,
)
from dgmcore.losses import KullbackLeibler
from tests.core.families import Bernoulli, Categorical, Doubler, Encoder, Normal

# --- missing variables ------------------------------------------------------------------------------


def _cases_missing() -> list[tuple[str, object, str, str]]:
    q = Encoder()
    joint = Normal(var=["y"], cond_var=["z"], loc="z", scale=1.0) * q
    m = Normal(var=["a"], cond_var=["m"], loc="m", scale=1.0)
    x = torch.randn(2, 4)
    return [
        ("sample", lambda: q.sample({}), "x", "q(z|x)"),
        ("sample-extra", lambda: q.sample({"y": x}), "x", "q(z|x)"),
        ("log_prob-value", lambda: q.get_log_prob({"x": x}), "z", "q(z|x)"),
        ("log_prob-input", lambda: q.get_log_prob({"z": torch.zeros(2, 2)}), "x", "q(z|x)"),
        ("get_params", lambda: q.get_params({}), "x", "q(z|x)"),
        ("entropy", lambda: q.get_entropy({}), "x", "q(z|x)"),
        ("cond-param", lambda: m.sample({}), "m", "p(a|m)"),
        ("joint", lambda: joint.sample({}), "x", "q(z|x)"),
        ("renamed", lambda: q.replace_var(x="obs").sample({}), "obs", "q(z|obs)"),
        ("renamed-value", lambda: q.replace_var(z="c").get_log_prob({"x": x}), "c", "q(c|x)"),
        ("deterministic", lambda: Doubler().sample({}), "z", "f(h|z)"),
        ("loss", lambda: q.log_prob().eval({"x": x}), "z", "q(z|x)"),
    ]


@pytest.mark.parametrize("call,variable,text", [c[1:] for c in _cases_missing()],
                         ids=[c[0] for c in _cases_missing()])
def test_missing_variable_names_variable_and_formula(call, variable: str, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MissingVariableError) as info:
        call()
    err = info.value
    assert isinstance(err, KeyError) and isinstance(err, DGMError)
    assert err.variable == variable
    assert f"'{variable}'" in str(err) and text in str(err)


def test_missing_variable_error_is_caught_as_key_error() -> None:
    with pytest.raises(KeyError) as info:  # fails when nothing is raised
        Encoder().sample({})
    assert isinstance(info.value, MissingVariableError)
    assert "needs the variable 'x'" in str(info.value)  # not a quoted repr
    assert not str(info.value).startswith('"')


# --- x_dict of the wrong type --------------------------------------------------------------------------

BAD_INPUTS = {
    "tensor": torch.zeros(2, 4),
    "list": [torch.zeros(2, 4)],
    "string": "x",
    "ndarray": np.zeros((2, 4)),
    "tuple": (("x", torch.zeros(2, 4)),),
}


@pytest.mark.parametrize("bad", list(BAD_INPUTS.values()), ids=list(BAD_INPUTS))
def test_x_dict_must_be_a_dict(bad: object) -> None:
    q = Encoder()
    joint = Normal(var=["y"], cond_var=["z"], loc="z", scale=1.0) * q
    for call in (
        lambda: q.sample(bad),  # type: ignore[arg-type]
        lambda: q.get_log_prob(bad),  # type: ignore[arg-type]
        lambda: q.get_params(bad),  # type: ignore[arg-type]
        lambda: q.sample_mean(bad),  # type: ignore[arg-type]
        lambda: joint.sample(bad),  # type: ignore[arg-type]
        lambda: q.replace_var(x="obs").sample(bad),  # type: ignore[arg-type]
    ):
        with pytest.raises(InputTypeError) as info:
            call()
        msg = str(info.value)
        assert type(bad).__name__ in msg
        assert "'x'" in msg or "'obs'" in msg  # names the variables it expects
    with pytest.raises(InputTypeError, match=r"\['z', 'x'\]"):
        q.log_prob().eval(bad)  # type: ignore[arg-type]


def test_a_mapping_that_is_not_a_dict_is_accepted() -> None:
    from types import MappingProxyType

    x = torch.randn(3, 4)
    assert Encoder().sample(MappingProxyType({"x": x}))["z"].shape == (3, 2)


# --- shapes ------------------------------------------------------------------------------------------


def test_value_not_ending_in_features_shape() -> None:
    p = Normal(var=["x"], loc=0.0, scale=1.0, features_shape=[3])
    with pytest.raises(ShapeError) as info:
        p.get_log_prob({"x": torch.zeros(5, 4)})
    assert "(3,)" in str(info.value) and "(5, 4)" in str(info.value) and "p(x)" in str(info.value)


def test_constants_that_do_not_fit_features_shape() -> None:
    with pytest.raises(ShapeError, match=r"\(3,\).*\(4,\)"):
        Normal(var=["x"], loc=torch.zeros(3), scale=1.0, features_shape=[4])


def test_constants_that_do_not_broadcast_together() -> None:
    with pytest.raises(ShapeError, match=r"'loc': \(3,\).*'scale': \(4,\)"):
        Normal(var=["x"], loc=torch.zeros(3), scale=torch.ones(4))


def test_inputs_whose_parameters_do_not_broadcast() -> None:
    p = Normal(var=["x"], cond_var=["a", "b"], loc="a", scale="b")
    with pytest.raises(ShapeError) as info:
        p.sample({"a": torch.zeros(2, 3), "b": torch.ones(2, 4)})
    msg = str(info.value)
    assert "p(x|a,b)" in msg and "(2, 3)" in msg and "(2, 4)" in msg


def test_value_that_does_not_broadcast_against_parameters() -> None:
    p = Normal(var=["x"], cond_var=["m"], loc="m", scale=1.0, features_shape=[3])
    with pytest.raises(ShapeError, match=r"\(4, 3\)"):
        p.get_log_prob({"m": torch.zeros(2, 3), "x": torch.zeros(4, 3)})


def test_bad_features_shape_argument() -> None:
    with pytest.raises(ShapeError, match="features_shape"):
        Normal(var=["x"], loc=0.0, scale=1.0, features_shape="abc")  # type: ignore[arg-type]


# --- densities that do not exist ---------------------------------------------------------------------


def test_deterministic_has_no_density() -> None:
    with pytest.raises(NoDensityError, match=r"f\(h\|z\).*Deterministic.*density"):
        Doubler().get_log_prob({"z": torch.zeros(1, 2), "h": torch.zeros(1, 2)})
    with pytest.raises(NoDensityError):
        Doubler().log_prob().eval({"z": torch.zeros(1, 2), "h": torch.zeros(1, 2)})


# --- joints -----------------------------------------------------------------------------------------------


def test_cycle_names_the_factors() -> None:
    a = Normal(var=["a"], cond_var=["b"], loc="b", scale=1.0)
    b = Normal(var=["b"], cond_var=["c"], loc="c", scale=1.0, name="q")
    c = Normal(var=["c"], cond_var=["a"], loc="a", scale=1.0, name="r")
    with pytest.raises(GraphError) as info:
        a * b * c
    msg = str(info.value)
    assert "cycle" in msg and "p(a|b)" in msg and "q(b|c)" in msg and "r(c|a)" in msg


def test_two_generators_of_one_variable_name_both() -> None:
    p = Normal(var=["x"], cond_var=["z"], loc="z", scale=1.0)
    q = Normal(var=["x"], loc=0.0, scale=1.0, name="q")
    with pytest.raises(GraphError) as info:
        p * q
    assert "'x'" in str(info.value) and "p(x|z)" in str(info.value) and "q(x)" in str(info.value)
    with pytest.raises(GraphError):
        JointDistribution([p, Normal(var=["z"], loc=0.0, scale=1.0) * q])


def test_variable_both_generated_and_conditioned() -> None:
    with pytest.raises(InputTypeError, match="'x'"):
        Normal(var=["x"], cond_var=["x"], loc="x", scale=1.0)
    with pytest.raises(InputTypeError, match="twice"):
        Normal(var=["x"], cond_var=["a", "a"], loc="a", scale=1.0)
    with pytest.raises(InputTypeError):
        Distribution(var=[])


# --- forward -------------------------------------------------------------------------------------------


class BrokenEncoder(Normal):
    def __init__(self) -> None:
        super().__init__(var=["z"], cond_var=["x"], name="q")
        self.fc = nn.Linear(3, 2)  # wrong input size: the user's bug

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loc": self.fc(x), "scale": torch.ones(1)}


def test_exception_in_forward_is_chained_and_names_distribution_and_shapes() -> None:
    with pytest.raises(ForwardError) as info:
        BrokenEncoder().sample({"x": torch.zeros(7, 4)})
    err = info.value
    assert isinstance(err.__cause__, RuntimeError)
    assert "q(z|x)" in str(err) and "(7, 4)" in str(err) and "RuntimeError" in str(err)


def test_exception_in_deterministic_forward_is_chained() -> None:
    class Broken(Doubler):
        def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
            raise ZeroDivisionError("nope")

    with pytest.raises(ForwardError) as info:
        Broken().sample({"z": torch.zeros(2, 5)})
    assert isinstance(info.value.__cause__, ZeroDivisionError) and "(2, 5)" in str(info.value)


def test_forward_returning_the_wrong_thing() -> None:
    class NotADict(Normal):
        def __init__(self) -> None:
            super().__init__(var=["z"], cond_var=["x"], name="q")

        def forward(self, x: torch.Tensor):  # type: ignore[no-untyped-def]
            return x, x

    class UnknownParam(NotADict):
        def forward(self, x: torch.Tensor):  # type: ignore[no-untyped-def]
            return {"loc": x, "sigma": x}

    class MissingOutput(Doubler):
        def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"g": inputs["z"]}

    x = torch.zeros(2, 3)
    with pytest.raises(InputTypeError, match=r"q\(z\|x\).*dict.*tuple"):
        NotADict().sample({"x": x})
    with pytest.raises(ParameterError, match=r"q\(z\|x\).*'sigma'"):
        UnknownParam().sample({"x": x})
    with pytest.raises(InputTypeError, match=r"f\(h\|z\).*\['h'\]"):
        MissingOutput().sample({"z": x})


def test_dgm_errors_inside_forward_pass_through_unwrapped() -> None:
    inner = Encoder()

    class Outer(Normal):
        def __init__(self) -> None:
            super().__init__(var=["y"], cond_var=["x"], name="r", scale=1.0)

        def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"loc": inner.sample({})["z"]}

    with pytest.raises(MissingVariableError, match=r"q\(z\|x\)"):
        Outer().sample({"x": torch.zeros(2, 4)})


# --- parameters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Normal(var=["x"], loc=0.0, scale=-1.0),
        lambda: Normal(var=["x"], cond_var=["z"], loc="z", scale=-1.0),
        lambda: Normal(var=["x"], cond_var=["z"], loc="z", scale=torch.tensor([1.0, -2.0])),
        lambda: Normal(var=["x"], loc=0.0, scale=nn.Parameter(torch.tensor(-1.0))),
    ],
    ids=["constant", "with-input", "one-element", "nn-parameter"],
)
def test_negative_scale_names_the_parameter(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match="scale"):
        make()


def test_invalid_probabilities_name_the_parameter() -> None:
    with pytest.raises(ParameterError, match="probs"):
        Bernoulli(var=["x"], probs=1.5)
    with pytest.raises(ParameterError, match="probs"):
        Bernoulli(var=["x"], cond_var=["z"], logits="z", probs=torch.tensor(-0.1))
    with pytest.raises(ParameterError, match="probs"):
        Categorical(var=["c"], probs=torch.tensor([0.5, -0.5, 1.0]))
    with pytest.raises(ParameterError, match="probs.*logits|logits.*probs|not both"):
        Bernoulli(var=["x"], probs=0.5, logits=0.0)


def test_validate_args_reports_invalid_parameters_from_forward() -> None:
    p = Normal(var=["x"], cond_var=["s"], loc=0.0, scale="s", validate_args=True)
    with pytest.raises(ParameterError, match="scale") as info:
        p.sample({"s": -torch.ones(2, 3)})
    assert "p(x|s)" in str(info.value) and "(2, 3)" in str(info.value)


def test_bad_construction_arguments() -> None:
    with pytest.raises(InputTypeError, match=r"'mean'.*\['loc', 'scale'\]"):
        Normal(var=["x"], mean=0.0)
    with pytest.raises(InputTypeError, match=r"'y'.*cond_var"):
        Normal(var=["x"], cond_var=["z"], loc="y", scale=1.0)
    with pytest.raises(InputTypeError, match="scale.*list"):
        Normal(var=["x"], loc=0.0, scale=[1.0])
    with pytest.raises(InputTypeError, match="exactly one"):
        Normal(var=["x", "y"], loc=0.0, scale=1.0)
    with pytest.raises(InputTypeError, match="name"):
        Normal(var=["x"], loc=0.0, scale=1.0, name="")
    with pytest.raises(InputTypeError, match="var"):
        Normal(var=[3], loc=0.0, scale=1.0)  # type: ignore[list-item]


# --- inputs are never mutated -----------------------------------------------------------------------------


def test_no_call_mutates_its_inputs() -> None:
    q = Encoder()
    prior = Normal(var=["z"], loc=torch.zeros(2), scale=torch.ones(2))
    f = Doubler()
    p = Normal(var=["y"], cond_var=["h"], loc="h", scale=1.0)
    joint = p * f * prior
    loss = (KullbackLeibler(q, prior) - joint.log_prob().expectation(q)).mean()
    x_dict = {"x": torch.randn(3, 4), "y": torch.randn(3, 2)}
    snapshot = {k: v.clone() for k, v in x_dict.items()}
    keys = list(x_dict)
    frozen = copy.copy(x_dict)
    q.sample(x_dict)
    q.get_params(x_dict)
    joint.sample(x_dict)
    joint.get_log_prob({**x_dict, "z": torch.zeros(3, 2)})
    joint.marginalize_var("z").sample(x_dict)
    joint.replace_var(y="obs").sample(x_dict)
    loss.eval(x_dict)
    loss.eval(x_dict, return_dict=True)
    assert list(x_dict) == keys and x_dict == frozen
    for k in keys:
        assert torch.equal(x_dict[k], snapshot[k])


# --- the hierarchy ----------------------------------------------------------------------------------------


def test_every_error_derives_from_dgm_error_and_every_warning_from_dgm_warning() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, (errors.DGMError, errors.DGMWarning)), name
        if name.endswith("Warning"):
            assert issubclass(cls, errors.DGMWarning)
    assert dgmcore.DGMError is errors.DGMError and dgmcore.DGMWarning is errors.DGMWarning


def _warning_categories() -> list[tuple[str, int, str | None]]:
    """Every ``warnings.warn(...)`` call in the dgmcore package and the category it passes."""
    found = []
    for path in sorted(Path(dgmcore.__file__).parent.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "warn" or not isinstance(node.func.value, ast.Name):
                continue
            if node.func.value.id != "warnings":
                continue
            cat = node.args[1] if len(node.args) > 1 else None
            for kw in node.keywords:
                if kw.arg == "category":
                    cat = kw.value
            found.append((path.name, node.lineno, cat.id if isinstance(cat, ast.Name) else None))
    return found


def test_every_warning_dgmcore_emits_is_a_dgm_warning() -> None:
    calls = _warning_categories()
    assert calls, "the scan found no warnings.warn call at all"
    for file, line, cat in calls:
        assert cat is not None, f"{file}:{line} warns without a category"
        assert issubclass(getattr(errors, cat), errors.DGMWarning), f"{file}:{line} warns {cat}"
