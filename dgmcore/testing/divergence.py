""":func:`check_kl_pair` and :func:`check_entropy`: closed forms against Monte-Carlo estimates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.losses import Entropy, KullbackLeibler
from dgmcore.testing.checks import sum_trailing
from dgmcore.testing.distribution import seeded
from dgmcore.testing.report import Report
from dgmcore.testing.stats import check_estimate

__all__ = ["check_entropy", "check_kl_pair"]


def _batch(inputs: Mapping[str, Any], batch_n: int) -> int:
    return next((t.shape[0] for t in inputs.values() if isinstance(t, torch.Tensor) and t.dim()), batch_n)


def _per_batch(report: Report, check: str, value: torch.Tensor, batch: int, what: str) -> None:
    report.require(
        value.shape in ((), (batch,)),
        check,
        f"{what} has shape {tuple(value.shape)}, expected () or ({batch},)",
    )


def _gradient_flows(
    report: Report, check: str, make: Any, inputs: dict[str, Any], modules: list[Any]
) -> None:
    given = {
        k: t.detach().clone().requires_grad_(True)
        if isinstance(t, torch.Tensor) and t.is_floating_point()
        else t
        for k, t in inputs.items()
    }
    leaves = [t for t in given.values() if isinstance(t, torch.Tensor) and t.requires_grad]
    leaves += [p for m in modules for p in m.parameters()]
    value = make(given)
    if not leaves or not value.requires_grad:
        report.skip(check, "nothing to differentiate (constant parameters)")
        return
    grads = [g for g in torch.autograd.grad(value.sum(), leaves, allow_unused=True) if g is not None]
    report.require(
        bool(grads) and all(bool(torch.isfinite(g).all()) for g in grads),
        check,
        "the closed form gives no gradient, or a non-finite one",
    )
    report.ok(check)


def check_kl_pair(
    p: Distribution,
    q: Distribution,
    inputs: Mapping[str, Any] | None = None,
    reference: torch.Tensor | None = None,
    *,
    batch_n: int = 4,
    n_samples: int = 20000,
    sigmas: float = 5.0,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> Report:
    """Check the analytic :math:`D_{KL}[p \\| q]` of two distributions of the same variable.

    Evaluated through the public loss, ``KullbackLeibler(p, q)`` (so the pair is
    found in the registry as a user would find it), it must give one value per
    batch element (or one value when nothing depends on the batch), be
    non-negative, match :math:`\\mathbb{E}_p[\\log p - \\log q]` over ``n_samples``
    draws within ``sigmas`` standard errors, match ``reference`` (exact values)
    when given, carry finite gradients, and render as text and LaTeX.

    Args:
        p, q: the two distributions.
        inputs: the conditioning variables of both, batch first.
        reference: the exact KL, one value per batch element, if known.
        batch_n: the batch size when ``inputs`` do not fix it.
        n_samples: draws for the Monte-Carlo estimate.
        sigmas, seed, atol, rtol: as for :func:`~dgmcore.testing.check_distribution`.

    Returns:
        A :class:`~dgmcore.testing.Report`.

    Raises:
        ConformanceError: a check failed.
        KLNotFoundError: no analytic KL is registered for the pair.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> from dgmcore.testing import check_kl_pair
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> q = Normal(loc="mu", scale=0.5, var=["z"], cond_var=["mu"], name="q")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        >>> check_kl_pair(q, prior, {"mu": torch.randn(4, 2)}).passed
        ['kl_shape', 'kl_nonnegative', 'kl_mc', 'kl_grad', 'kl_text']
    """
    report = Report(f"KL[{p.prob_text}||{q.prob_text}] ({p.distribution_name}, {q.distribution_name})")
    inputs = dict(inputs or {})
    batch = _batch(inputs, batch_n)
    loss = KullbackLeibler(p, q)
    with seeded(seed):
        kl = loss.eval(inputs).detach()
        _per_batch(report, "kl_shape", kl, batch, "KullbackLeibler(p, q).eval(inputs)")
        report.ok("kl_shape")
        report.require(bool((kl >= -atol).all()), "kl_nonnegative", f"negative KL {kl}")
        report.ok("kl_nonnegative")
        draws = p.sample(inputs, batch_n=batch, sample_shape=(n_samples,))  # batch_n agrees with inputs
        log_ratio = p.get_log_prob(draws) - q.get_log_prob(draws)
        check_estimate(
            report, "kl_mc", log_ratio, kl, sigmas, atol, rtol, "E_p[log p - log q] vs analytic KL"
        )
        if reference is not None:
            report.close(
                "kl_reference",
                kl,
                torch.as_tensor(reference).expand_as(kl),
                atol,
                rtol,
                "analytic KL vs reference",
            )
            report.ok("kl_reference")
        _gradient_flows(report, "kl_grad", loss.eval, inputs, [p, q])
    report.require(bool(str(loss)) and bool(loss.latex), "kl_text", "str / latex of the KL loss is empty")
    report.ok("kl_text")
    return report


def check_entropy(
    dist: Distribution,
    inputs: Mapping[str, Any] | None = None,
    reference: Any = None,
    *,
    batch_n: int = 4,
    n_samples: int = 20000,
    sigmas: float = 5.0,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> Report:
    """Check the analytic entropy :math:`H[p] = -\\mathbb{E}_p[\\log p]` of a distribution.

    ``get_entropy`` and the loss ``Entropy(p)`` must agree, give one value per
    batch element (or one value), match the Monte-Carlo estimate
    :math:`-\\frac{1}{n}\\sum \\log p(x_i)` within ``sigmas`` standard errors, and
    match ``reference.entropy()`` (summed over features) when a reference is given.

    Args:
        dist: the distribution.
        inputs: its conditioning variables, batch first.
        reference: an independent ``torch.distributions`` object with ``entropy()``.
        batch_n, n_samples, sigmas, seed, atol, rtol: as for :func:`check_kl_pair`.

    Returns:
        A :class:`~dgmcore.testing.Report`.

    Raises:
        ConformanceError: a check failed.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> from dgmcore.testing import check_entropy
        >>> class Gamma(ParametricDistribution):
        ...     family = torch.distributions.Gamma
        ...     params = ("concentration", "rate")
        >>> p = Gamma(concentration=torch.tensor([0.5, 2.0, 9.0]), rate=1.0, var=["x"])
        >>> check_entropy(p, reference=torch.distributions.Gamma(torch.tensor([0.5, 2.0, 9.0]), 1.0)).passed
        ['entropy_shape', 'entropy_loss', 'entropy_mc', 'entropy_reference']
    """
    report = Report(f"H[{dist.prob_text}] ({dist.distribution_name})")
    inputs = dict(inputs or {})
    batch = _batch(inputs, batch_n)
    with seeded(seed):
        h = dist.get_entropy(inputs).detach()
        _per_batch(report, "entropy_shape", h, batch, "get_entropy(inputs)")
        report.ok("entropy_shape")
        report.close(
            "entropy_loss", Entropy(dist).eval(inputs), h, atol, rtol, "Entropy(p).eval vs get_entropy"
        )
        report.ok("entropy_loss")
        draws = dist.sample(inputs, batch_n=batch, sample_shape=(n_samples,))  # agrees with inputs
        check_estimate(
            report,
            "entropy_mc",
            -dist.get_log_prob(draws),
            h,
            sigmas,
            atol,
            rtol,
            "-E_p[log p] vs analytic entropy",
        )
        if reference is not None:
            report.close(
                "entropy_reference",
                h,
                sum_trailing(reference.entropy(), h.dim()),
                atol,
                rtol,
                "entropy vs reference",
            )
            report.ok("entropy_reference")
    return report
