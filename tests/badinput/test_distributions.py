"""Bad input to distributions and joints: every outcome classified (see harness.py).

Hypothesis picks a target (a distribution with constants, one conditioned on an
input, a renamed one, encoders and a decoder with and without declared
features, a joint), a method, a batch size and one change to a valid input;
a valid input is checked against ``torch.distributions`` built by hand from
the user's ``forward``.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.badinput.harness import Case, run
from tests.badinput.targets import TARGETS, Target

METHODS = ("sample", "log_prob", "entropy", "sample_mean", "log_prob_loss")
VALUE_CHANGES = (
    "good",
    "missing",
    "missing-mixed-keys",
    "list",
    "numpy",
    "string",
    "none",
    "float",
    "wrong-features",
    "unbatched",
    "batch-mismatch",
    "int-dtype",
    "not-a-dict",
)
OPTION_CHANGES = {
    "sample": [
        ("batch_n", -1),
        ("batch_n", 0),
        ("batch_n", 2.5),
        ("batch_n", "3"),
        ("batch_n", True),
        ("batch_n", "disagreeing"),
        ("sample_shape", -1),
        ("sample_shape", (0,)),
        ("sample_shape", "a"),
        ("sample_shape", 2.5),
        ("sample_shape", True),
        ("sample_shape", (2,)),  # valid: a control
    ],
    "log_prob": [("feature_dims", (5,)), ("feature_dims", "a"), ("feature_dims", (1.5,))],
}
SETTINGS = settings(
    max_examples=260,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _applies(t: Target, method: str) -> bool:
    if t.name == "deterministic":  # no density, no moments: sampling is all it does
        return method == "sample"
    if t.name == "joint":
        return method in ("sample", "log_prob", "log_prob_loss")
    return True


COMBOS = [(t, m) for t in TARGETS for m in METHODS if _applies(t, m)]


def _keys(t: Target, method: str) -> tuple[str, ...]:
    return t.inputs + t.values if method in ("log_prob", "log_prob_loss") else t.inputs


def _call(d: Any, t: Target, method: str, x: Any, batch: int, options: dict) -> Any:
    if method == "sample":
        if t.name == "joint" or not t.inputs:
            options = {"batch_n": batch, **options}
        return d.sample(x, **options)
    if method == "log_prob":
        return d.get_log_prob(x, **options)
    if method == "entropy":
        return d.get_entropy(x)
    if method == "sample_mean":
        return d.sample_mean(x)
    return d.log_prob().eval(x)


def _check(t: Target, d: Any, method: str, x: dict, batch: int, options: dict):
    def check(result: Any) -> None:
        ref = t.ref(d, x)
        if method == "sample":
            lead = tuple(options.get("sample_shape", ()))
            for v in t.values:
                assert result[v].shape == (*lead, batch, *t.features[v]), (v, tuple(result[v].shape))
                assert torch.isfinite(result[v]).all()
            for k in t.inputs:
                assert result[k] is x[k]
        elif method in ("log_prob", "log_prob_loss"):
            want = sum(ref[v].log_prob(x[v]).sum(-1) for v in t.values)
            torch.testing.assert_close(result, want)
        elif method == "entropy":
            want = sum(ref[v].entropy().sum(-1) for v in t.values)
            torch.testing.assert_close(result, want)
        else:  # a distribution of constants has no batch dim (docs/losses.md)
            (v,) = t.values
            shape = (batch, *t.features[v]) if t.inputs else t.features[v]
            torch.testing.assert_close(result, ref[v].mean.expand(shape))

    return check


def _change(x: dict, key: str, change: str, batch: int) -> tuple[Any, bool | None]:
    """The changed input and whether it is bad (None: a typed error and the right answer both do)."""
    y = dict(x)
    if change == "good":
        return y, False
    if change == "not-a-dict":
        return y[key], True
    if change in ("missing", "missing-mixed-keys"):
        del y[key]
        if change == "missing-mixed-keys":
            y[0] = torch.zeros(1)  # type: ignore[index]
        return y, True
    value = y[key]
    y[key] = {
        "list": lambda: value.tolist(),
        "numpy": lambda: value.numpy(),
        "string": lambda: "ab",
        "none": lambda: None,
        "float": lambda: 0.5,
        "wrong-features": lambda: torch.cat([value, value[..., :1]], dim=-1),
        "unbatched": lambda: value[0],
        "batch-mismatch": lambda: torch.cat([value, value[:1]]),
        "int-dtype": lambda: value.long(),
    }[change]()
    return y, None if change in ("int-dtype", "float") else True


def _as_float(full: dict, given: Any) -> dict:
    """The reference's input: the values the call was given (integers as floats), else ``full``."""
    if not isinstance(given, dict):
        return full
    out = dict(full)
    out.update(
        {k: v.float() for k, v in given.items() if isinstance(v, torch.Tensor) and not v.is_floating_point()}
    )
    # a number for a conditioning variable is one example, as Pixyz reads it (D8)
    out.update({k: torch.full((1, *full[k].shape[1:]), v) for k, v in given.items() if type(v) is float})
    return out


def _finding(t: Target, method: str, key: str, change: str) -> str | None:
    if t.name == "deterministic":
        return "R13"  # Deterministic passes non-tensors through, ignores batch_n
    if t.renamed:
        return "R08"  # errors of a replace_var'd distribution name the base
    if change == "float":
        return "D8"  # a number for a variable
    if change == "int-dtype":
        return "R10"
    if change == "batch-mismatch":
        return "R02"  # a batch of 1 broadcast against the parameters' batch
    if change == "unbatched":
        if not t.declared:
            return "R01"
        return "R03" if method == "sample_mean" else "R01"
    if change == "wrong-features" and key in t.inputs and not t.network:
        return "R03"  # parameters taken from an input are not checked against features_shape
    return None


def _names(d: Any, t: Target) -> list[str]:
    names = [d.prob_text]
    if t.name == "joint":
        names += [f.prob_text for f in (d.graph.nodes[v]["factor"] for v in t.values)]
    return names


@SETTINGS
@given(
    combo=st.sampled_from(COMBOS),
    batch=st.integers(1, 5),
    change=st.sampled_from(VALUE_CHANGES),
    data=st.data(),
)
def test_a_changed_input_to_a_distribution_is_a_typed_error_or_the_right_answer(combo, batch, change, data):
    t, method = combo
    keys = _keys(t, method)
    if not keys and change != "good":
        change = "not-a-dict" if method != "sample" else "good"
    if change == "batch-mismatch" and len(keys) < 2:
        change = "good"
    gen = torch.Generator().manual_seed(batch)
    d = t.build()
    full = t.data(batch, gen)
    x = {k: full[k] for k in keys}
    key = data.draw(st.sampled_from(keys)) if keys else ""
    given_x, bad = (
        _change(x, key, change, batch) if keys else (x if change == "good" else [], change != "good")
    )
    if change == "batch-mismatch" and not t.inputs and t.name != "joint":
        bad = False
    if change == "unbatched" and batch == 1 and key in t.values:
        bad = None  # a value missing a batch of 1 broadcasts to the same values: scored as batched
    ref_x = _as_float(full, given_x)
    if t.name == "deterministic" and change in ("wrong-features", "int-dtype"):
        # a function of its inputs: no features of its own to check, and the dtype is the function's
        bad, ref_x = None, {**full, **given_x}
    case = Case(
        name=f"{t.name}.{method}[{change}:{key}] B={batch}",
        call=lambda: _call(d, t, method, given_x, batch, {}),
        bad=bad,
        names=_names(d, t),
        # a number for a conditioning variable is one example (D8, as Pixyz): tests/pixyz and
        # tests/badinput/test_core_pending.py check its value; here it must not raise raw
        # (an integer tensor is read as a float one: test_core_pending.py checks its value)
        check=None if change in ("float", "int-dtype") or bad is None and t.name == "deterministic"
        else _check(t, d, method, ref_x, batch, {}),
        inputs=given_x if isinstance(given_x, dict) else None,
        finding=_finding(t, method, key, change),
    )
    outcome = run(case)
    assert outcome.acceptable, str(outcome)


SAMPLE_COMBOS = [(t, m, o) for t, m in COMBOS for o in OPTION_CHANGES.get(m, [])]


@settings(SETTINGS, max_examples=120)
@given(combo=st.sampled_from(SAMPLE_COMBOS), batch=st.integers(1, 4))
def test_a_bad_option_of_a_distribution_method_is_a_typed_error(combo, batch):
    t, method, (option, value) = combo
    gen = torch.Generator().manual_seed(batch)
    d = t.build()
    full = t.data(batch, gen)
    x = {k: full[k] for k in _keys(t, method)}
    bad = value != (2,)
    if value == "disagreeing":
        if not t.inputs:
            value, bad = batch + 1, False  # nothing to disagree with: a valid batch size
        else:
            value = batch + 1
    options = {option: value}
    finding = (
        "R13"
        if t.name == "deterministic"
        else "R08"
        if t.renamed
        else {("sample_shape", True): "R12", ("feature_dims", "a"): "R11"}.get(
            (option, value), "R11" if option == "feature_dims" else None
        )
    )
    check_batch = value if option == "batch_n" and not bad else batch
    case = Case(
        name=f"{t.name}.{method}({option}={value!r}) B={batch}",
        call=lambda: _call_option(d, t, method, x, batch, options),
        bad=bad,
        names=_names(d, t),
        check=_check(t, d, method, full, check_batch, options if option == "sample_shape" else {}),
        inputs=x,
        finding=finding,
    )
    outcome = run(case)
    assert outcome.acceptable, str(outcome)


def _call_option(d: Any, t: Target, method: str, x: dict, batch: int, options: dict) -> Any:
    if method == "sample":
        if not t.inputs and "batch_n" not in options:
            options = {"batch_n": batch, **options}
        return d.sample(x, **options)
    return d.get_log_prob(x, **options)
