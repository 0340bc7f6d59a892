"""The individual checks behind :func:`~dgmcore.testing.check_distribution` (those on draws: :mod:`.draws`).

Each takes a :class:`~dgmcore.testing.Report`, records what it checked (or why
it did not apply) and raises :class:`~dgmcore.testing.ConformanceError` on a
failure. Plugin authors can call them one by one.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError, InputTypeError, MissingVariableError
from dgmcore.testing.report import Report

__all__ = [
    "check_errors",
    "check_reference",
    "check_shapes",
    "check_state_dict",
    "check_text",
    "sum_trailing",
]


def sum_trailing(values: torch.Tensor, keep: int) -> torch.Tensor:
    """Sum the trailing dimensions of ``values`` beyond the first ``keep`` (feature sums)."""
    extra = values.dim() - keep
    return values.sum(dim=tuple(range(-extra, 0))) if extra > 0 else values


def check_shapes(report: Report, dist: Distribution, inputs: dict[str, Any], batch_n: int) -> dict[str, Any]:
    """Batch, feature and sample dimensions of samples and log-densities; returns one sample dict."""
    v = dist.var[0]
    out = dist.sample(inputs, batch_n=batch_n)
    for k, t in inputs.items():
        report.require(
            out.get(k) is t, "shapes", f"sample(return_all=True) did not return input {k!r} as given"
        )
    own = dist.sample(inputs, batch_n=batch_n, return_all=False)
    report.require(
        set(own) == {v}, "shapes", f"sample(return_all=False) returned {sorted(own)}, expected [{v!r}]"
    )
    x = out[v]
    batch = next((t.shape[0] for t in inputs.values() if isinstance(t, torch.Tensor) and t.dim()), batch_n)
    report.require(
        x.dim() >= 1 and x.shape[0] == batch,
        "shapes",
        f"a sample of shape {tuple(x.shape)} does not start with the batch size {batch}",
    )
    fs = dist.features_shape
    report.require(
        not fs or x.shape[1:] == fs,
        "shapes",
        f"a sample of shape {tuple(x.shape)} does not end in features_shape {tuple(fs)}",
    )
    many = dist.sample(inputs, batch_n=batch_n, sample_shape=(2, 3), return_all=False)[v]
    report.require(
        many.shape == (2, 3, *x.shape),
        "shapes",
        f"sample_shape=(2, 3) gave shape {tuple(many.shape)}, expected {(2, 3, *x.shape)}",
    )
    lp = dist.get_log_prob(out)
    report.require(
        lp.shape == (batch,), "shapes", f"get_log_prob gave shape {tuple(lp.shape)}, expected ({batch},)"
    )
    report.require(
        bool(torch.isfinite(lp).all()), "shapes", f"log-density of its own samples is not finite: {lp}"
    )
    lp_many = dist.get_log_prob({**inputs, v: many})
    report.require(
        lp_many.shape == (2, 3, batch),
        "shapes",
        f"get_log_prob of samples with sample_shape (2, 3) gave shape {tuple(lp_many.shape)}",
    )
    report.close(
        "shapes",
        lp_many[1, 2],
        dist.get_log_prob({**inputs, v: many[1, 2]}),
        1e-5,
        1e-5,
        "log-density of one slice of a sample_shape draw",
    )
    elementwise = dist.get_log_prob(out, sum_features=False)
    report.require(
        elementwise.dim() >= 1 and elementwise.shape[0] == batch,
        "shapes",
        f"get_log_prob(sum_features=False) gave shape {tuple(elementwise.shape)}",
    )
    report.close("shapes", sum_trailing(elementwise, 1), lp, 1e-5, 1e-5, "elementwise log-densities summed")
    report.ok("shapes")
    return out


def check_errors(report: Report, dist: Distribution, inputs: dict[str, Any]) -> None:
    """A missing variable and a bare tensor for ``x_dict`` raise dgmcore's typed errors."""
    try:
        dist.get_log_prob(dict(inputs))
    except MissingVariableError:
        pass
    else:
        report.fail("errors", f"get_log_prob without {dist.var[0]!r} did not raise MissingVariableError")
    try:
        dist.sample(torch.zeros(1))  # type: ignore[arg-type]
    except InputTypeError:
        pass
    else:
        report.fail("errors", "sample(<a bare tensor>) did not raise InputTypeError")
    report.ok("errors")


def check_reference(
    report: Report,
    dist: Distribution,
    inputs: dict[str, Any],
    sample: dict[str, Any],
    reference: Any,
    values: torch.Tensor | None,
    atol: float,
    rtol: float,
) -> None:
    """Log-density, mean, variance and entropy against an independent ``reference`` object."""
    if reference is None:
        report.skip("reference", "no reference given")
        return
    v = dist.var[0]
    if values is not None:
        values = values.to(sample[v].device)
    for name, value in [("own samples", sample[v]), ("given values", values)]:
        if value is not None:
            lp = dist.get_log_prob({**inputs, v: value})
            report.close(
                "reference",
                lp,
                sum_trailing(reference.log_prob(value), lp.dim()),
                atol,
                rtol,
                f"log-density of {name} vs reference",
            )
    for what, ours, theirs in [
        ("mean", lambda: dist.sample_mean(inputs), lambda: reference.mean),
        ("variance", lambda: dist.sample_variance(inputs), lambda: reference.variance),
    ]:
        try:
            a, b = ours(), theirs()
        except (NotImplementedError, AttributeError):
            continue
        a, b = torch.broadcast_tensors(a, b)
        report.close("reference", a, b, atol, rtol, f"{what} vs reference")
    try:
        ent, ref_ent = dist.get_entropy(inputs), reference.entropy()
    except (NotImplementedError, AttributeError):
        ent = None
    if ent is not None:
        report.close("reference", ent, sum_trailing(ref_ent, ent.dim()), atol, rtol, "entropy vs reference")
    report.ok("reference")


def _perturb(dist: Distribution) -> list[str]:
    """Shift every floating-point tensor of ``dist``'s ``state_dict`` in place; their names."""
    changed = []
    with torch.no_grad():
        for name, t in dist.state_dict(keep_vars=True).items():
            if t.is_floating_point() and t.numel():
                t.add_(0.5)
                changed.append(name)
    return changed


def _log_prob_or_none(dist: Distribution, sample: dict[str, Any]) -> torch.Tensor | None:
    try:
        return dist.get_log_prob(sample).detach()
    except (DGMError, RuntimeError, ValueError):  # a shifted parameter may be invalid: it differs
        return None


def check_state_dict(
    report: Report,
    dist: Distribution,
    sample: dict[str, Any],
    factory: Callable[[], Distribution] | None,
    atol: float,
    rtol: float,
) -> None:
    """The log-density survives ``torch.save`` / ``torch.load`` of ``state_dict()`` into another instance.

    The target is ``factory()`` (or a deep copy of ``dist``) with every
    floating-point tensor of its state shifted by 0.5 first, so that a
    ``load_state_dict`` that loads nothing, or loads into the wrong tensors,
    leaves a different log-density. When the shift does not change the target's
    log-density (an empty ``state_dict``, or tensors the density does not read),
    the round trip proves nothing and the check is reported as not applicable.
    """
    state = dist.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    report.require(list(loaded) == list(state), "state_dict", "keys changed through torch.save / torch.load")
    target = factory() if factory is not None else copy.deepcopy(dist)
    if not _perturb(target):
        report.skip("state_dict", "no floating-point tensor in state_dict() to round trip")
        return
    expected = dist.get_log_prob(sample).detach()
    before = _log_prob_or_none(target, sample)
    if before is not None and before.shape == expected.shape:
        same = torch.isclose(before.double(), expected.double(), rtol=rtol, atol=atol, equal_nan=True)
        if bool(same.all()):
            report.skip("state_dict", "shifting the state_dict() tensors does not change the log-density")
            return
    try:
        target.load_state_dict(loaded)
    except RuntimeError as err:
        report.fail("state_dict", f"load_state_dict failed: {err}")
    report.close(
        "state_dict",
        target.get_log_prob(sample),
        expected,
        atol,
        rtol,
        "log-density after a state_dict round trip into an instance whose tensors were shifted",
    )
    report.ok("state_dict")


def check_text(report: Report, dist: Distribution) -> None:
    """``str``, ``repr``, the formulas, LaTeX and the ``log_prob()`` loss render as non-empty text."""
    texts = {
        "str": str(dist),
        "repr": repr(dist),
        "prob_text": dist.prob_text,
        "prob_factorized_text": dist.prob_factorized_text,
        "latex": dist.latex,
        "_repr_latex_": dist._repr_latex_(),
        "log_prob loss": str(dist.log_prob()),
        "log_prob loss latex": dist.log_prob().latex,
    }
    for name, text in texts.items():
        report.require(isinstance(text, str) and bool(text.strip()), "text", f"{name} is empty or not a str")
    report.require(
        dist.prob_text in texts["log_prob loss"],
        "text",
        f"str(log_prob()) = {texts['log_prob loss']!r} does not show {dist.prob_text!r}",
    )
    report.ok("text")
