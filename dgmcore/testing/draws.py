"""The checks on what a distribution draws: moments and gradients.

Like those of :mod:`dgmcore.testing.checks`, each records into a
:class:`~dgmcore.testing.Report` and raises
:class:`~dgmcore.testing.ConformanceError` on a failure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError
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


def _grad_report(report: Report, check: str, grads: Iterable[torch.Tensor | None], what: str) -> None:
    found = [g for g in grads if g is not None]
    report.require(all(bool(torch.isfinite(g).all()) for g in found), check, f"{what}: non-finite gradient")
    report.require(
        any(bool((g != 0).any()) for g in found),
        check,
        f"{what}: no parameter, constant or input receives a gradient",
    )
    report.ok(check)


def check_gradients(report: Report, dist: Distribution, inputs: dict[str, Any], batch_n: int) -> None:
    """Gradients of reparameterised samples and of log-densities reach parameters, constants and inputs.

    Runs on a deep copy whose floating-point buffers (the constants) require
    gradients, with floating-point inputs cloned to require them too.
    """
    d = copy.deepcopy(dist)
    leaves: list[torch.Tensor] = [p for p in d.parameters() if p.is_floating_point()]
    for b in d.buffers():
        if b.is_floating_point():
            leaves.append(b.requires_grad_(True))
    given = {
        k: t.detach().clone().requires_grad_(True)
        if isinstance(t, torch.Tensor) and t.is_floating_point()
        else t
        for k, t in inputs.items()
    }
    leaves += [t for t in given.values() if isinstance(t, torch.Tensor) and t.requires_grad]
    if not leaves:
        report.skip("gradients", "no floating-point parameter, constant or input")
        return
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
            torch.autograd.grad((x * weights).sum(), leaves, allow_unused=True),
            "rsample",
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
    _grad_report(
        report, "score_grad", torch.autograd.grad(lp.sum(), leaves, allow_unused=True), "log-density"
    )
