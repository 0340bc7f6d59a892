"""Distributions: the core classes, plus every family registered by a plugin.

The core defines no concrete family. ``from dgmcore.distributions import Normal``
works once a plugin providing ``Normal`` (dgmcore-families) is installed; the
lookup is lazy and loads plugins on first use. See :mod:`dgmcore.plugins`.
"""

from __future__ import annotations

from dgmcore import plugins as _plugins
from dgmcore.distributions.base import Distribution
from dgmcore.distributions.joint import JointDistribution, MarginalizedDistribution
from dgmcore.distributions.parametric import ParametricDistribution
from dgmcore.distributions.replace import ReplacedVarDistribution
from dgmcore.distributions.special import Deterministic, EmpiricalDistribution

__all__ = [
    "Deterministic",
    "Distribution",
    "EmpiricalDistribution",
    "JointDistribution",
    "MarginalizedDistribution",
    "ParametricDistribution",
    "ReplacedVarDistribution",
]

__getattr__, __dir__, get = _plugins.namespace("distributions", globals())
