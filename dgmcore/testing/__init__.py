"""dgmcore.testing: the conformance kit for distributions, KL pairs and entropies.

Plugin authors — first-party and third-party alike — prove a new family
correct with the same checks the dgmcore-families plugin passes:

* :func:`check_distribution` — shapes (batch, features, ``sample_shape``),
  clear errors, log-density against an independent reference, sample moments
  against ``sample_mean`` / ``sample_variance`` (statistical, seeded, with
  tolerances derived from the sample size), gradients of reparameterised
  samples and of log-densities, ``state_dict`` round trip, text and LaTeX;
* :func:`check_kl_pair` — an analytic KL against its Monte-Carlo estimate;
* :func:`check_entropy` — an analytic entropy against its Monte-Carlo estimate;
* :class:`Case`, :class:`KLCase`, :class:`EntropyCase` and :func:`parametrize`
  — a table of cases run by one parametrised pytest test, with readable ids;
  :class:`Formula` — a reference written as formulas.

A failed check raises :class:`ConformanceError` (a
:class:`~dgmcore.errors.DGMError` and an :class:`AssertionError`) naming the
distribution, the check, and the values; a passed run returns a :class:`Report`.
The individual checks are in :mod:`dgmcore.testing.checks`.

Example:
    >>> import torch
    >>> from dgmcore.distributions import ParametricDistribution
    >>> from dgmcore.testing import check_distribution
    >>> class VonMises(ParametricDistribution):
    ...     family = torch.distributions.VonMises
    ...     params = ("loc", "concentration")
    >>> p = VonMises(loc=0.0, concentration=2.0, var=["a"], features_shape=[3])
    >>> reference = torch.distributions.VonMises(torch.zeros(3), 2.0)
    >>> # torch's VonMises.variance is the circular variance, not that of the samples:
    >>> # the kit reports it (ConformanceError: ... variance ...), so it is skipped here.
    >>> report = check_distribution(p, reference=reference, n_samples=1000, skip=["variance"])
    >>> report.passed[:4]
    ['shapes', 'errors', 'reference', 'mean']
"""

from __future__ import annotations

from dgmcore.testing.distribution import CHECKS, check_distribution, seeded
from dgmcore.testing.divergence import check_entropy, check_kl_pair
from dgmcore.testing.flows import check_flow
from dgmcore.testing.report import ConformanceError, Report
from dgmcore.testing.table import Case, EntropyCase, Formula, KLCase, parametrize

__all__ = [
    "CHECKS",
    "Case",
    "ConformanceError",
    "EntropyCase",
    "Formula",
    "KLCase",
    "Report",
    "check_distribution",
    "check_entropy",
    "check_flow",
    "check_kl_pair",
    "parametrize",
    "seeded",
]
