""":func:`check_distribution`: the conformance checks every dgmcore distribution should pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError
from dgmcore.testing.checks import check_errors, check_reference, check_shapes, check_state_dict, check_text
from dgmcore.testing.draws import check_gradients, check_moments
from dgmcore.testing.report import Report

__all__ = ["CHECKS", "check_distribution", "seeded"]

#: The checks :func:`check_distribution` runs, in order (names for ``skip=``).
CHECKS = (
    "shapes",
    "errors",
    "reference",
    "mean",
    "variance",
    "gradients",
    "state_dict",
    "text",
    "inputs_unchanged",
)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's RNGs for the block and restore their previous states afterwards."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def check_distribution(
    dist: Distribution,
    inputs: Mapping[str, Any] | None = None,
    reference: Any = None,
    *,
    batch_n: int = 4,
    n_samples: int = 4000,
    sigmas: float = 5.0,
    seed: int = 0,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    values: torch.Tensor | None = None,
    factory: Callable[[], Distribution] | None = None,
    skip: Iterable[str] = (),
    no_rsample_grad: Iterable[str] = (),
    no_score_grad: Iterable[str] = (),
) -> Report:
    """Run the conformance checks on a distribution of one variable.

    The checks (each can be skipped by name, see :data:`CHECKS`):

    * ``shapes``: samples carry the batch dimension (``batch_n``, or the inputs'
      batch) then ``features_shape``; ``sample_shape`` goes in front; ``return_all``
      keeps the inputs; ``get_log_prob`` gives one value per sample, and the
      elementwise values (``sum_features=False``) sum to it.
    * ``errors``: a missing variable is a :class:`~dgmcore.errors.MissingVariableError`,
      a bare tensor for ``x_dict`` an :class:`~dgmcore.errors.InputTypeError`.
    * ``reference``: ``get_log_prob`` matches ``reference.log_prob`` (summed over
      features) on fresh samples and on ``values``; mean, variance and entropy
      match the reference's where it has them.
    * ``mean`` and ``variance`` (``moments`` skips both): the mean and variance
      of ``n_samples`` draws match ``sample_mean`` / ``sample_variance`` within
      ``sigmas`` standard errors.
    * ``gradients``: reparameterised samples (when ``has_reparam``) and
      log-densities propagate a finite gradient, not zero everywhere, to every
      parameter, every constant and every input (each named when it fails);
      ``reparam=True`` without ``has_reparam`` raises.
    * ``state_dict``: saved with ``torch.save`` and loaded into a copy whose
      tensors were shifted (``factory()``'s, or a deep copy's), the log-density
      is restored; not applicable when the state is empty or the shift does not
      change the log-density.
    * ``text``: ``str``, ``repr``, ``prob_text``, ``latex`` and the ``log_prob()``
      loss render.
    * ``inputs_unchanged``: no tensor of ``inputs`` was modified.

    Args:
        dist: the distribution (one variable in ``var``).
        inputs: the conditioning variables, batch first (None when unconditional).
        reference: an independent ``torch.distributions`` object (or anything
            with ``log_prob``) for the same parameters and batch.
        batch_n: the batch size when ``inputs`` do not fix it.
        n_samples: draws for the moment checks.
        sigmas: the width of the statistical tolerance (see :mod:`dgmcore.testing.stats`).
        seed: the seed of torch's RNG during the checks (its state is restored).
        atol, rtol: tolerances of the exact comparisons.
        values: extra values of the variable to score against ``reference``.
        factory: builds a fresh instance, for the ``state_dict`` check.
        skip: names of checks not to run (the report lists them as skipped).
        no_rsample_grad: parameters, constants or inputs (by name) that a
            reparameterised sample legitimately does not depend on, like a
            mixture's weights; the ``gradients`` check requires that they get no
            gradient from ``rsample`` (and still one from the log-density).
        no_score_grad: likewise, those the log-density legitimately does not read.

    Returns:
        A :class:`~dgmcore.testing.Report` of the checks passed and of those not
        run, with why: the ones that did not apply and the ones the caller skipped.

    Raises:
        ConformanceError: a check failed; the message says which and how.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> from dgmcore.testing import check_distribution
        >>> class Laplace(ParametricDistribution):
        ...     family = torch.distributions.Laplace
        ...     params = ("loc", "scale")
        >>> p = Laplace(loc="mu", scale=2.0, var=["x"], cond_var=["mu"])
        >>> mu = torch.randn(4, 3)
        >>> report = check_distribution(p, {"mu": mu}, torch.distributions.Laplace(mu, 2.0))
        >>> report.passed  # doctest: +NORMALIZE_WHITESPACE
        ['shapes', 'errors', 'reference', 'mean', 'variance', 'rsample_grad', 'score_grad',
         'state_dict', 'text', 'inputs_unchanged']
    """
    report = Report(f"{dist.prob_text} ({dist.distribution_name})")
    skipped = set(skip)
    if "moments" in skipped:  # shorthand for both
        skipped |= {"mean", "variance"}
    unknown = skipped - set(CHECKS) - {"moments"}
    if unknown:
        raise InputTypeError(
            f"check_distribution: unknown checks in skip: {sorted(unknown)}; known: {CHECKS}"
        )
    if len(dist.var) != 1:
        raise InputTypeError(f"check_distribution checks distributions of one variable, got var={dist.var}")
    for name in CHECKS:
        if name in skipped:
            report.skip(name, "skipped by the caller (skip=...)")
    inputs = dict(inputs or {})
    # batch_n must agree with the inputs' batch when they fix one (else sample raises ShapeError)
    batch_n = next((t.shape[0] for t in inputs.values() if isinstance(t, torch.Tensor) and t.dim()), batch_n)
    snapshot = {k: (v.clone(), v._version) for k, v in inputs.items() if isinstance(v, torch.Tensor)}
    with seeded(seed):
        sample = check_shapes(report, dist, inputs, batch_n) if "shapes" not in skipped else None
        if sample is None:
            sample = dist.sample(inputs, batch_n=batch_n)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("errors", lambda: check_errors(report, dist, inputs)),
            (
                "reference",
                lambda: check_reference(report, dist, inputs, sample, reference, values, atol, rtol),
            ),
            (
                "moments",
                lambda: check_moments(
                    report,
                    dist,
                    inputs,
                    batch_n,
                    n_samples,
                    sigmas,
                    "mean" not in skipped,
                    "variance" not in skipped,
                ),
            ),
            (
                "gradients",
                lambda: check_gradients(
                    report, dist, inputs, batch_n, set(no_rsample_grad), set(no_score_grad)
                ),
            ),
            ("state_dict", lambda: check_state_dict(report, dist, sample, factory, atol, rtol)),
            ("text", lambda: check_text(report, dist)),
        ]
        for name, step in steps:
            if name not in skipped:
                step()
    if "inputs_unchanged" not in skipped:
        for k, (before, version) in snapshot.items():
            now = inputs[k]
            report.require(
                now._version == version and torch.equal(now.detach(), before.detach()),
                "inputs_unchanged",
                f"input {k!r} was modified in place",
            )
        report.ok("inputs_unchanged")
    return report
