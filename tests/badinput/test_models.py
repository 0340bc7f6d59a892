"""Bad input to Model: every outcome classified, and the model compared after each failure.

The model trains a weighted VAE whose encoder has a batch norm, so a failed
step that let the forward's buffer updates stand would show. After every
failed call, parameters, buffers, optimizer state and each module's mode
must be as before (otherwise the outcome is ``changed-model``); a valid step
must equal the same step written by hand on copies of the networks.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.distributions import Bernoulli as TBernoulli
from torch.distributions import Normal as TNormal
from torch.distributions import kl_divergence

from dgmcore.losses import KullbackLeibler, Parameter
from dgmcore.models import Model
from tests.badinput.harness import Case, run
from tests.badinput.targets import X_DIM, Z_DIM, BatchNormEncoder, _prior
from tests.losses.conftest import Decoder

SEED = 5
CHANGES = (
    "good",
    "nan-batch",
    "inf-batch",
    "wrong-features",
    "int-dtype",
    "missing-x",
    "missing-w",
    "missing-mixed-keys",
    "unbatched",
    "empty-batch",
    "list",
    "not-a-dict",
    "weight-column",
    "weight-row",
    "weight-string",
    "nan-weight",
    "keyword",
    "return-dict",
)


def _built(lr: float = 0.01) -> tuple[Model, BatchNormEncoder, Decoder, Any]:
    q, p = BatchNormEncoder(), Decoder()
    loss = (Parameter("w") * KullbackLeibler(q, _prior()) - p.log_prob().expectation(q)).mean()
    model = Model(loss, [q, p], optimizer_params={"lr": lr})
    model.train({"x": _batch(4), "w": torch.ones(4)})  # Adam has state, the statistics have moved
    return model, q, p, loss


def _batch(n: int) -> torch.Tensor:
    return (torch.rand(n, X_DIM, generator=torch.Generator().manual_seed(n)) > 0.5).float()


def _hand_loss(q: BatchNormEncoder, p: Decoder, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    h = q.forward(x)
    qd = TNormal(h["loc"], h["scale"])
    kl = kl_divergence(qd, TNormal(torch.zeros(Z_DIM), 1.0)).sum(-1)
    rec = TBernoulli(logits=p.forward(qd.rsample())["logits"]).log_prob(x).sum(-1)
    return (w * kl - rec).mean()


def _state(model: Model) -> dict[str, Any]:
    return {"model": model.state_dict(), "modes": [m.training for m in model.distributions.modules()]}


def _change(change: str, batch: int) -> tuple[Any, dict[str, Any], bool]:
    x: dict[str, Any] = {"x": _batch(batch), "w": torch.ones(batch)}
    kwargs: dict[str, Any] = {}
    if change == "good":
        return x, kwargs, False
    edits = {
        "nan-batch": lambda: x["x"].index_put(
            (torch.tensor([0]), torch.tensor([0])), torch.tensor(float("nan"))
        ),
        "inf-batch": lambda: x["x"] * float("inf"),
        "wrong-features": lambda: torch.cat([x["x"], x["x"][:, :1]], dim=1),
        "int-dtype": lambda: x["x"].long(),
        "unbatched": lambda: x["x"][0],
        "empty-batch": lambda: x["x"][:0],
        "list": lambda: x["x"].tolist(),
    }
    if change in edits:
        x["x"] = edits[change]()
        if change == "empty-batch":
            x["w"] = x["w"][:0]
    elif change == "missing-x":
        del x["x"]
    elif change in ("missing-w", "missing-mixed-keys"):
        del x["w"]
        if change == "missing-mixed-keys":
            x[0] = 1.0  # type: ignore[index]
    elif change == "not-a-dict":
        return x["x"], kwargs, True
    elif change == "weight-column":
        x["w"] = x["w"][:, None]
    elif change == "weight-row":
        x["w"] = x["w"][None, :]
    elif change == "weight-string":
        x["w"] = "1.0"
    elif change == "nan-weight":
        x["w"] = torch.full((batch,), float("nan"))
    elif change == "keyword":
        kwargs = {"foo": 1}
    elif change == "return-dict":
        kwargs = {"return_dict": True}
    return x, kwargs, True


SETTINGS = settings(
    max_examples=70,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(
    change=st.sampled_from(CHANGES),
    batch=st.integers(2, 6),
    method=st.sampled_from(["train", "train", "test"]),
)
def test_a_changed_batch_for_model_is_a_typed_error_and_leaves_the_model_as_it_was(change, batch, method):
    model, q, p, loss = _built()
    x, kwargs, bad = _change(change, batch)
    nonfinite = False
    if method == "test":
        q.eval()  # a mode the user set: test must restore it
        if change == "return-dict":
            kwargs, bad = {"return_dict": True}, False
        nonfinite = change in ("nan-batch", "inf-batch", "empty-batch", "nan-weight")
        if nonfinite:
            bad = None  # evaluation is no step: NaN in, NaN out (or a typed error)

    def call() -> Any:
        if method == "test":
            torch.manual_seed(SEED)
            return model.test(x, **kwargs)
        q_ref, p_ref = copy.deepcopy(q), copy.deepcopy(p)
        before = [t.detach().clone() for t in model.distributions.parameters()]
        torch.manual_seed(SEED)
        ref = _hand_loss(q_ref, p_ref, x["x"], x["w"]) if not bad else None
        torch.manual_seed(SEED)
        value = model.train(x, **kwargs)
        return value, ref, before

    def check(result: Any) -> None:
        if method == "test":
            value = result[0] if isinstance(result, tuple) else result
            assert value.shape == () and bool(torch.isfinite(value)) != nonfinite
            assert not q.training and p.training  # the modes the user set
            return
        value, ref, before = result
        torch.testing.assert_close(value, ref.detach())
        after = list(model.distributions.parameters())
        assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True)), "no step taken"

    outcome = run(
        Case(
            name=f"Model.{method}[{change}] B={batch}",
            call=call,
            bad=bad,
            names=[str(loss), "Model", q.prob_text, p.prob_text, "Parameter('w')"],
            check=check,
            inputs=x if isinstance(x, dict) else None,
            state=lambda: _state(model),
        )
    )
    assert outcome.acceptable, str(outcome)


def _model_arguments() -> list[tuple[str, dict[str, Any], str]]:
    q, p = BatchNormEncoder(), Decoder()
    loss = (KullbackLeibler(q, _prior()) - p.log_prob().expectation(q)).mean()
    base = {"loss": loss, "distributions": [q, p]}
    cases = [
        (f"{name}={value!r}", {**base, name: value}, name)
        for name in ("clip_grad_norm", "clip_grad_value")
        for value in (-1.0, 0.0, float("nan"), "1", True)
    ]
    cases += [
        ("optimizer='adam'", {**base, "optimizer": "adam"}, "optimizer"),
        ("optimizer=instance", {**base, "optimizer": torch.optim.SGD(q.parameters(), lr=0.1)}, "optimizer"),
        ("optimizer_params='lr=0.1'", {**base, "optimizer_params": "lr=0.1"}, "optimizer_params"),
        ("optimizer_params lr<0", {**base, "optimizer_params": {"lr": -1}}, "lr"),
        ("optimizer_params unknown", {**base, "optimizer_params": {"foo": 1}}, "foo"),
        ("distributions=None", {**base, "distributions": None}, "distributions"),
        ("distributions=3", {**base, "distributions": 3}, "distributions"),
        ("distributions=['p']", {**base, "distributions": ["p"]}, "distributions"),
        ("distributions=[]", {**base, "distributions": []}, "trainable"),
        ("loss='loss'", {**base, "loss": "loss"}, "Loss"),
        ("test_loss=3", {**base, "test_loss": 3.0}, "test_loss"),
        ("on_nonfinite='ignore'", {**base, "on_nonfinite": "ignore"}, "on_nonfinite"),
    ]
    return cases


def test_bad_model_arguments_are_typed_errors_naming_the_argument():
    bad = []
    for name, kwargs, text in _model_arguments():
        outcome = run(Case(name=f"Model({name})", call=lambda k=kwargs: Model(**k), bad=True, names=[text]))
        if not outcome.acceptable:
            bad.append(str(outcome))
    assert not bad, "\n".join(bad)


def _checkpoints(good: dict[str, Any]) -> list[tuple[str, Any, str]]:
    key = next(k for k in good["distributions"] if k.endswith("bias"))
    out = []
    wrong = copy.deepcopy(good)
    wrong["distributions"][key] = torch.zeros(99)
    out.append(("wrong shape", wrong, key))
    missing = copy.deepcopy(good)
    del missing["distributions"][key]
    out.append(("missing key", missing, key))
    extra = copy.deepcopy(good)
    extra["distributions"]["0.extra"] = torch.zeros(1)
    out.append(("unexpected key", extra, "0.extra"))
    groups = copy.deepcopy(good)
    groups["optimizer"]["param_groups"][0]["params"].pop()
    out.append(("optimizer groups", groups, "parameter groups"))
    not_tensor = copy.deepcopy(good)
    not_tensor["distributions"][key] = [0.0]
    out.append(("not a tensor", not_tensor, key))
    out += [("no optimizer", {"distributions": good["distributions"]}, "optimizer"), ("a list", [], "dict")]
    return out


def test_a_checkpoint_that_does_not_fit_is_refused_and_changes_nothing():
    other, *_ = _built()
    with torch.no_grad():
        for t in other.distributions.parameters():
            t.add_(1.0)
    bad = []
    for name, state, text in _checkpoints(copy.deepcopy(other.state_dict())):
        model, q, p, loss = _built()
        outcome = run(
            Case(
                name=f"Model.load_state_dict({name})",
                call=lambda m=model, s=state: m.load_state_dict(s),
                bad=True,
                names=[text],
                state=lambda m=model: _state(m),
            )
        )
        if not outcome.acceptable:
            bad.append(str(outcome))
    assert not bad, "\n".join(bad)
