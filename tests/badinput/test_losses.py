"""Bad input to every core loss: every outcome classified (see harness.py).

Hypothesis picks a loss (each core loss, arithmetic with a weight, min, a
ConstantVar, a density term), a batch size and one change to a valid input.
A valid input is checked against the same objective written by hand in torch
on the same random seed. Bad constructor arguments are a fixed table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.distributions import Bernoulli as TBernoulli
from torch.distributions import Normal as TNormal
from torch.distributions import kl_divergence

from dgmcore.losses import (
    ELBO,
    IWELBO,
    ConstantVar,
    CrossEntropy,
    Entropy,
    Expectation,
    KullbackLeibler,
    LogProb,
    MaxLoss,
    MinLoss,
    Parameter,
    ValueLoss,
    log_marginal,
)
from tests.badinput.harness import Case, run
from tests.badinput.targets import X_DIM, Z_DIM, _DeclaredEncoder, _prior
from tests.families import Normal
from tests.losses.conftest import Decoder

SEED = 11


class Parts:
    """A fresh encoder, decoder and prior, and the hand-written terms on them."""

    def __init__(self) -> None:
        self.q, self.p, self.prior = _DeclaredEncoder(), Decoder(), _prior()

    def qd(self, x: torch.Tensor) -> TNormal:
        h = self.q.forward(x)
        return TNormal(h["loc"], h["scale"])

    def log_lik(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return TBernoulli(logits=self.p.forward(z)["logits"]).log_prob(x).sum(-1)

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        return TNormal(torch.zeros(Z_DIM), 1.0).log_prob(z).sum(-1)

    def kl(self, x: torch.Tensor) -> torch.Tensor:
        return kl_divergence(self.qd(x), TNormal(torch.zeros(Z_DIM), 1.0)).sum(-1)

    def rec(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_lik(x, self.qd(x).rsample())


def _elbo(s: Parts, x: dict) -> torch.Tensor:
    qd = s.qd(x["x"])
    z = qd.rsample()
    return s.log_lik(x["x"], z) + s.log_prior(z) - qd.log_prob(z).sum(-1)


def _iwelbo(s: Parts, x: dict) -> torch.Tensor:
    qd = s.qd(x["x"])
    z = qd.rsample((3,))
    log_w = s.log_lik(x["x"], z) + s.log_prior(z) - qd.log_prob(z).sum(-1)
    return torch.logsumexp(log_w, 0) - math.log(3)


def _kl_mc(s: Parts, x: dict) -> torch.Tensor:
    qd = s.qd(x["x"])
    z = qd.rsample()
    return qd.log_prob(z).sum(-1) - s.log_prior(z)


def _min(s: Parts, x: dict) -> torch.Tensor:
    kl = s.kl(x["x"])
    return torch.minimum(kl, s.rec(x["x"]))


# name: (build, extra variables, hand-written reference)
LOSSES: dict[str, tuple[Callable[[Parts], Any], tuple[str, ...], Callable[[Parts, dict], torch.Tensor]]] = {
    "kl": (lambda s: KullbackLeibler(s.q, s.prior), (), lambda s, x: s.kl(x["x"])),
    "kl_mc": (lambda s: KullbackLeibler(s.q, s.prior, analytical=False), (), _kl_mc),
    "entropy": (lambda s: Entropy(s.q), (), lambda s, x: s.qd(x["x"]).entropy().sum(-1)),
    "cross_entropy": (
        lambda s: CrossEntropy(s.q, s.prior),
        (),
        lambda s, x: -s.log_prior(s.qd(x["x"]).rsample()),
    ),
    "rec": (lambda s: s.p.log_prob().expectation(s.q), (), lambda s, x: s.rec(x["x"])),
    "expectation": (lambda s: Expectation(s.q, LogProb(s.p)), (), lambda s, x: s.rec(x["x"])),
    "vae": (
        lambda s: (KullbackLeibler(s.q, s.prior) - s.p.log_prob().expectation(s.q)).mean(),
        (),
        lambda s, x: (s.kl(x["x"]) - s.rec(x["x"])).mean(),
    ),
    "elbo": (lambda s: ELBO(s.p * s.prior, s.q), (), _elbo),
    "iwelbo": (lambda s: IWELBO(s.p * s.prior, s.q, k=3), (), _iwelbo),
    "weighted": (
        lambda s: Parameter("w") * KullbackLeibler(s.q, s.prior) + ValueLoss(1.0),
        ("w",),
        lambda s, x: x["w"] * s.kl(x["x"]) + 1.0,
    ),
    "min": (lambda s: MinLoss(KullbackLeibler(s.q, s.prior), s.p.log_prob().expectation(s.q)), (), _min),
    "max-number": (
        lambda s: MaxLoss(KullbackLeibler(s.q, s.prior), 1.5),
        (),
        lambda s, x: s.kl(x["x"]).clamp(min=1.5),
    ),
    "constant-var": (
        lambda s: ConstantVar(Parameter("w") * KullbackLeibler(s.q, s.prior), {"w": 0.5}),
        (),
        lambda s, x: 0.5 * s.kl(x["x"]),
    ),
    "log_prob": (lambda s: s.p.log_prob(), ("z",), lambda s, x: s.log_lik(x["x"], x["z"])),
}

CHANGES = (
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
    "weight-column",
    "weight-row",
    "weight-square",
    "weight-string",
    "weight-list",
)
SETTINGS = settings(
    max_examples=220,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _data(extra: tuple[str, ...], batch: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(batch)
    x = {"x": (torch.rand(batch, X_DIM, generator=gen) > 0.5).float()}
    if "w" in extra:
        x["w"] = torch.rand(batch, generator=gen) + 0.5
    if "z" in extra:
        x["z"] = torch.randn(batch, Z_DIM, generator=gen)
    return x


def _change(x: dict, key: str, change: str, batch: int) -> tuple[Any, bool | None]:
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
    if change.startswith("weight-"):
        w = y["w"]
        y["w"] = {
            "weight-column": lambda: w[:, None],
            "weight-row": lambda: w[None, :],
            "weight-square": lambda: w[:, None] * w[None, :],
            "weight-string": lambda: "0.5",
            "weight-list": lambda: w.tolist(),
        }[change]()
        # a (1, 1) square is a column of one: still not the batch's shape (B,) = (1,)
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
    return y, None if change == "int-dtype" else True


def _finding(name: str, key: str, change: str) -> str | None:
    if change == "float" and key != "w":
        return "D8"
    if change == "unbatched" and name == "log_prob":
        return "R01"  # the decoder declares no features_shape
    if change == "batch-mismatch" and key == "z":
        return "R02"
    return None


@SETTINGS
@given(
    name=st.sampled_from(sorted(LOSSES)),
    batch=st.integers(1, 5),
    change=st.sampled_from(CHANGES),
    data=st.data(),
)
def test_a_changed_input_to_a_loss_is_a_typed_error_or_the_right_answer(name, batch, change, data):
    build, extra, reference = LOSSES[name]
    if change.startswith("weight-") and "w" not in extra:
        change = "good"
    if change == "batch-mismatch" and not extra:
        change = "good"  # one input: a batch of any size is valid
    s = Parts()
    loss = build(s)
    x = _data(extra, batch)
    keys = ["x", *extra]
    key = "w" if change.startswith("weight-") else data.draw(st.sampled_from(keys))
    if change == "batch-mismatch":
        key = data.draw(st.sampled_from(list(extra)))
    given_x, bad = _change(x, key, change, batch)
    if change == "weight-square" and batch == 1:
        bad = True  # (1, 1): two dims where the batch has one

    def call() -> torch.Tensor:
        torch.manual_seed(SEED)
        return loss.eval(given_x)

    def check(result: torch.Tensor) -> None:
        ref_x = {k: v.float() if isinstance(v, torch.Tensor) else v for k, v in given_x.items()}
        torch.manual_seed(SEED)
        want = reference(s, ref_x)
        torch.testing.assert_close(result, want.detach() if not result.requires_grad else want)

    names = [str(loss), s.q.prob_text, s.p.prob_text, s.prior.prob_text, "Parameter('w')"]
    outcome = run(
        Case(
            name=f"{name}[{change}:{key}] B={batch}",
            call=call,
            bad=bad,
            names=names,
            check=check,
            inputs=given_x if isinstance(given_x, dict) else None,
            finding=_finding(name, key, change),
        )
    )
    assert outcome.acceptable, str(outcome)


def _ctor_cases() -> list[tuple[str, Callable[[Parts], Any], str]]:
    """(name, a constructor call with a bad argument, a text its error must contain)."""
    w_prior = Normal(loc=0.0, scale=1.0, var=["w"], features_shape=[Z_DIM])
    one_feature = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[1])
    cases: list[tuple[str, Callable[[Parts], Any], str]] = []
    for bad in (-1, 0, 2.5, "3", (0,), None):
        cases += [
            (
                f"KL(sample_shape={bad!r})",
                lambda s, b=bad: KullbackLeibler(s.q, s.prior, sample_shape=b),
                "KL[",
            ),
            (f"Entropy(sample_shape={bad!r})", lambda s, b=bad: Entropy(s.q, sample_shape=b), "H["),
            (
                f"CrossEntropy(sample_shape={bad!r})",
                lambda s, b=bad: CrossEntropy(s.q, s.prior, sample_shape=b),
                "H[",
            ),
            (
                f"ELBO(sample_shape={bad!r})",
                lambda s, b=bad: ELBO(s.p * s.prior, s.q, sample_shape=b),
                "q(z|x)",
            ),
            (
                f"expectation(sample_shape={bad!r})",
                lambda s, b=bad: s.p.log_prob().expectation(s.q, b),
                "q(z|x)",
            ),
        ]
    for bad in (0, -2, True, 2.0, "5", None):
        cases.append((f"IWELBO(k={bad!r})", lambda s, b=bad: IWELBO(s.p * s.prior, s.q, k=b), "IWELBO["))
        cases.append(
            (
                f"log_marginal(k={bad!r})",
                lambda s, b=bad: log_marginal(s.p * s.prior, s.q, {"x": torch.zeros(2, X_DIM)}, k=b),
                "log_marginal(",
            )
        )
    for bad in ("yes", None, 1):
        cases.append(
            (f"KL(analytical={bad!r})", lambda s, b=bad: KullbackLeibler(s.q, s.prior, analytical=b), "KL[")
        )
    cases += [
        ("KL(q, p(w))", lambda s: KullbackLeibler(s.q, w_prior), "KL[q(z|x)||p(w)]"),
        ("KL(q, 1-feature prior)", lambda s: KullbackLeibler(s.q, one_feature), "KL[q(z|x)||p(z)]"),
        ("KL(q, 3)", lambda s: KullbackLeibler(s.q, 3), "KullbackLeibler"),
        ("Entropy(loss)", lambda s: Entropy(s.p.log_prob()), "Entropy"),
        ("ELBO(q, 'p')", lambda s: ELBO("p", s.q), "ELBO"),
        ("Expectation(q, 'f')", lambda s: Expectation(s.q, "f"), "q(z|x)"),
        ("LogProb(3)", lambda s: LogProb(3), "LogProb"),
        ("Parameter('')", lambda s: Parameter(""), "Parameter"),
        ("Parameter(3)", lambda s: Parameter(3), "Parameter"),
        ("ValueLoss('a')", lambda s: ValueLoss("a"), "ValueLoss"),
        ("ValueLoss(None)", lambda s: ValueLoss(None), "ValueLoss"),
        ("ValueLoss(1j)", lambda s: ValueLoss(1j), "ValueLoss"),
        ("ValueLoss([1, 2])", lambda s: ValueLoss([1.0, 2.0]), "ValueLoss"),
        ("ValueLoss(ones(3))", lambda s: ValueLoss(torch.ones(3)), "ValueLoss"),
        ("ValueLoss(array)", lambda s: ValueLoss(np.ones(2)), "ValueLoss"),
        ("loss + 1j", lambda s: KullbackLeibler(s.q, s.prior) + 1j, "ValueLoss"),
        ("ConstantVar('kl', {})", lambda s: ConstantVar("kl", {}), "ConstantVar"),
        (
            "ConstantVar(kl, [])",
            lambda s: ConstantVar(KullbackLeibler(s.q, s.prior), []),
            "KL[q(z|x)||p_{prior}(z)]",
        ),
        (
            "ConstantVar typo",
            lambda s: ConstantVar(Parameter("beta") * KullbackLeibler(s.q, s.prior), {"btea": 0.1}),
            "btea",
        ),
        ("MinLoss(kl, 'a')", lambda s: MinLoss(KullbackLeibler(s.q, s.prior), "a"), "MinLoss"),
        ("MaxLoss(None, kl)", lambda s: MaxLoss(None, KullbackLeibler(s.q, s.prior)), "MaxLoss"),
    ]
    return cases


CTOR_CASES = _ctor_cases()


def test_bad_constructor_arguments_of_the_losses_are_typed_errors():
    bad = []
    for name, build, text in CTOR_CASES:
        s = Parts()
        outcome = run(Case(name=f"construct {name}", call=lambda s=s, b=build: b(s), bad=True, names=[text]))
        if not outcome.acceptable:
            bad.append(str(outcome))
    assert not bad, "\n".join(bad)


def test_a_compiled_loss_reports_bad_input_as_a_typed_error():
    s = Parts()
    loss = (KullbackLeibler(s.q, s.prior) - s.p.log_prob().expectation(s.q)).mean()
    compiled = loss.compile(backend="eager")
    x = _data((), 4)
    compiled.eval(x)
    compiled.eval(x)
    bad = []
    for change in ("int-dtype", "wrong-features", "missing", "unbatched", "list"):
        given_x, is_bad = _change(x, "x", change, 4)
        outcome = run(
            Case(
                name=f"compiled vae[{change}:x]",
                call=lambda g=given_x: compiled.eval(g),
                bad=True,
                names=[str(loss), s.q.prob_text],
                inputs=given_x,
            )
        )
        if not outcome.acceptable:
            bad.append(str(outcome))
    assert not bad, "\n".join(bad)
