"""The checks on what a distribution draws: moments and gradients.

Like those of :mod:`dgmcore.testing.checks`, each records into a
:class:`~dgmcore.testing.Report` and raises
:class:`~dgmcore.testing.ConformanceError` on a failure.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError, InputTypeError
from dgmcore.testing.report import Report
from dgmcore.testing.stats import check_mean, check_variance

__all__ = ["check_gradients", "check_moments"]


def check_moments(
    report: Report,
    dist: Distribution,
    inputs: dict[str, Any],
    batch_n: int,
    n: int,
    sigmas: float,
    mean: bool = True,
    variance: bool = True,
) -> None:
    """Sample mean and variance of ``n`` draws against ``sample_mean`` / ``sample_variance``.

    Values that are not finite (a Cauchy's mean, a label's mean) are left out.
    """
    if not (mean or variance):
        return
    try:
        exact_mean, exact_var = dist.sample_mean(inputs), dist.sample_variance(inputs)
    except NotImplementedError as err:
        report.skip("moments", f"no closed-form mean or variance ({type(err).__name__})")
        return
    draws = dist.sample(inputs, batch_n=batch_n, sample_shape=(n,), return_all=False)[dist.var[0]]
    exact_mean, exact_var = exact_mean.expand(draws.shape[1:]), exact_var.expand(draws.shape[1:])
    if mean:
        check_mean(report, "mean", draws, exact_mean, exact_var, sigmas)
    if variance:
        check_variance(report, "variance", draws, exact_var, sigmas)


def _grad_report(
    report: Report,
    check: str,
    named: dict[str, tuple[str, torch.Tensor]],
    grads: Iterable[torch.Tensor | None],
    what: str,
    exempt: Collection[str] = (),
) -> None:
    """Every leaf, by name, receives a finite gradient that is not zero everywhere.

    The leaves named in ``exempt`` must receive none (or zero) instead.
    """
    for (key, (label, _)), g in zip(named.items(), grads, strict=True):
        if key in exempt:
            report.require(
                g is None or not bool((g != 0).any()),
                check,
                f"{what}: {label} was declared to get no gradient here but gets one",
            )
            continue
        if g is None:
            report.fail(check, f"{what}: no gradient reaches {label}")
        report.require(bool(torch.isfinite(g).all()), check, f"{what}: non-finite gradient of {label}")
        report.require(bool((g != 0).any()), check, f"{what}: the gradient of {label} is zero")
    report.ok(check)


def check_gradients(
    report: Report,
    dist: Distribution,
    inputs: dict[str, Any],
    batch_n: int,
    no_rsample_grad: Collection[str] = (),
    no_score_grad: Collection[str] = (),
) -> None:
    """Gradients of reparameterised samples and of log-densities reach every parameter, constant and input.

    Runs on a deep copy whose floating-point buffers (the constants) require
    gradients, with floating-point inputs cloned to require them too. Each of
    these leaves must receive a finite gradient that is not zero everywhere: a
    family that detaches one parameter fails, naming it. ``no_rsample_grad``
    names the leaves (parameter, buffer or input names) that a reparameterised
    sample does not depend on, such as a mixture's weights (the component is
    drawn discretely); they must get no gradient from ``rsample``, and still get
    one from the log-density. ``no_score_grad`` likewise names the leaves the
    log-density does not read (a temperature used only when sampling).
    """
    d = copy.deepcopy(dist)
    named: dict[str, tuple[str, torch.Tensor]] = {
        n: (f"parameter {n!r}", p)
        for n, p in d.named_parameters()
        if p.is_floating_point() and p.requires_grad
    }
    for n, b in d.named_buffers():
        if b.is_floating_point():
            named[n] = (f"constant {n!r}", b.requires_grad_(True))
    given = {
        k: t.detach().clone().requires_grad_(True)
        if isinstance(t, torch.Tensor) and t.is_floating_point()
        else t
        for k, t in inputs.items()
    }
    named.update(
        {k: (f"input {k!r}", t) for k, t in given.items() if isinstance(t, torch.Tensor) and t.requires_grad}
    )
    unknown = sorted((set(no_rsample_grad) | set(no_score_grad)) - set(named))
    if unknown:
        raise InputTypeError(
            f"check_distribution: no_rsample_grad / no_score_grad name {unknown}, which are not among the "
            f"floating-point parameters, constants and inputs {sorted(named)}"
        )
    if not named:
        report.skip("gradients", "no floating-point parameter, constant or input")
        return
    leaves = [t for _, t in named.values()]
    v = d.var[0]
    if d.has_reparam:
        x = d.sample(given, batch_n=batch_n, reparam=True, return_all=False)[v]
        report.require(x.requires_grad, "rsample_grad", "a reparameterised sample carries no gradient")
        weights = torch.randn(
            x.shape, dtype=x.dtype, device=x.device
        )  # a random direction: sum(x) is constant on a simplex
        _grad_report(
            report,
            "rsample_grad",
            named,
            torch.autograd.grad((x * weights).sum(), leaves, allow_unused=True),
            "rsample",
            no_rsample_grad,
        )
    else:
        try:
            d.sample(given, batch_n=batch_n, reparam=True)
        except DGMError:
            report.ok("reparam_refused")
        else:
            report.fail(
                "reparam_refused", "has_reparam is False but sample(reparam=True) did not raise DGMError"
            )
    x = d.sample(given, batch_n=batch_n, return_all=False)[v].detach()
    lp = d.get_log_prob({**given, v: x})
    report.require(lp.requires_grad, "score_grad", "the log-density carries no gradient to any leaf")
    _grad_report(
        report,
        "score_grad",
        named,
        torch.autograd.grad(lp.sum(), leaves, allow_unused=True),
        "log-density",
        no_score_grad,
    )
