"""Statistical comparisons with tolerances derived from the sample size.

Every Monte-Carlo check compares an estimate :math:`\\hat\\theta` from ``n``
draws with the exact value :math:`\\theta` and passes when

.. math:: |\\hat\\theta - \\theta| \\le k \\cdot \\mathrm{se} + \\mathrm{atol} + \\mathrm{rtol}\\, |\\theta|

where :math:`\\mathrm{se}` is the standard error of the estimate (from the exact
variance when known, else from the draws) and :math:`k` is ``sigmas`` (5 by
default: a false alarm about once in 1.7 million comparisons). With a fixed
seed the outcome is reproducible; the bound shrinks as :math:`1/\\sqrt{n}`.
"""

from __future__ import annotations

import math

import torch

from dgmcore.testing.report import Report

__all__ = ["check_estimate", "check_mean", "check_variance", "mean_and_stderr"]


def mean_and_stderr(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over dimension 0 and its standard error, in float64.

    Example:
        >>> m, se = mean_and_stderr(torch.tensor([1.0, 2.0, 3.0, 4.0]))
        >>> m.item(), round(se.item(), 4)
        (2.5, 0.6455)
    """
    v = values.detach().double()
    n = v.shape[0]
    return v.mean(0), v.std(0, unbiased=True) / math.sqrt(n)


def _bounded(
    report: Report,
    check: str,
    estimate: torch.Tensor,
    exact: torch.Tensor,
    se: torch.Tensor,
    sigmas: float,
    atol: float,
    rtol: float,
    what: str,
) -> None:
    estimate, exact = torch.broadcast_tensors(estimate, exact.detach().double())
    se = se.expand_as(estimate)
    usable = torch.isfinite(exact) & torch.isfinite(estimate)
    if not bool(usable.any()):
        report.skip(check, f"{what} is not finite")
        return
    err = (estimate - exact).abs()
    bound = sigmas * se + atol + rtol * exact.abs()
    bad = usable & (err > bound)
    if bool(bad.any()):
        i = int(bad.flatten().nonzero()[0])
        z = (err.flatten()[i] / se.flatten()[i]).item() if se.flatten()[i] > 0 else float("inf")
        report.fail(
            check,
            f"{what}: {int(bad.sum())} of {int(usable.sum())} values outside {sigmas} standard errors; "
            f"first at flat index {i}: estimate {estimate.flatten()[i].item():.6g}, exact "
            f"{exact.flatten()[i].item():.6g} ({z:.1f} standard errors)",
        )
    report.ok(check)


def check_estimate(
    report: Report,
    check: str,
    draws: torch.Tensor,
    exact: torch.Tensor,
    sigmas: float = 5.0,
    atol: float = 1e-6,
    rtol: float = 0.0,
    what: str = "estimate",
) -> None:
    """Check that the mean of ``draws`` (over dimension 0) matches ``exact``.

    Example:
        >>> _ = torch.manual_seed(0)
        >>> r = Report("demo")
        >>> check_estimate(r, "mean", torch.randn(10000) + 1.0, torch.tensor(1.0))
        >>> r.passed
        ['mean']
    """
    est, se = mean_and_stderr(draws)
    _bounded(report, check, est, exact, se, sigmas, atol, rtol, what)


def check_mean(
    report: Report,
    check: str,
    samples: torch.Tensor,
    mean: torch.Tensor,
    variance: torch.Tensor | None = None,
    sigmas: float = 5.0,
    atol: float = 1e-6,
) -> None:
    """Check the sample mean over dimension 0 against ``mean``.

    The standard error uses the exact ``variance`` where it is given and
    finite, else the draws' own variance.
    """
    x = samples.detach().double()
    n = x.shape[0]
    est = x.mean(0)
    se = x.var(0, unbiased=True).div(n).sqrt()
    if variance is not None:
        exact_var = variance.detach().double().expand_as(est)
        se = torch.where(torch.isfinite(exact_var), exact_var.clamp_min(0).div(n).sqrt(), se)
    _bounded(report, check, est, mean, se, sigmas, atol, 0.0, "sample mean vs sample_mean()")


def check_variance(
    report: Report,
    check: str,
    samples: torch.Tensor,
    variance: torch.Tensor,
    sigmas: float = 5.0,
    atol: float = 1e-6,
) -> None:
    """Check the unbiased sample variance over dimension 0 against ``variance``.

    The standard error of the unbiased sample variance is
    :math:`\\sqrt{(\\mu_4 - \\sigma^4 (n-3)/(n-1)) / n}`, with the fourth central
    moment :math:`\\mu_4` estimated from the draws. That first-order error
    vanishes where :math:`\\mu_4 = \\sigma^4` (a fair coin: every draw is
    :math:`\\pm 1/2` from the mean), and the estimate still moves by the
    second-order term :math:`n (\\bar x - \\mu)^2 / (n - 1)`; it is bounded at the
    same confidence by :math:`k^2 \\sigma^2 / (n - 1)`, which is added.
    """
    x = samples.detach().double()
    n = x.shape[0]
    centred = x - x.mean(0)
    est = centred.pow(2).sum(0) / (n - 1)
    m4 = centred.pow(4).mean(0)
    se = (m4 - est.pow(2) * (n - 3) / (n - 1)).clamp_min(0).div(n).sqrt()
    se = se + sigmas * est / (n - 1)  # k * se then carries the k^2 sigma^2 / (n - 1) term
    _bounded(report, check, est, variance, se, sigmas, atol, 0.0, "sample variance vs sample_variance()")
