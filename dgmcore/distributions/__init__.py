"""Distributions: the core classes, plus every family registered by a plugin.

The core defines no concrete family. ``from dgmcore.distributions import Normal``
works once a plugin providing ``Normal`` (dgmcore-families) is installed; the
lookup is lazy and loads plugins on first use. See :mod:`dgmcore.plugins`.
"""

from __future__ import annotations

from dgmcore import plugins as _plugins
from dgmcore.distributions import kl
from dgmcore.distributions._base import Distribution
from dgmcore.distributions._deterministic import Deterministic
from dgmcore.distributions._empirical import EmpiricalDistribution
from dgmcore.distributions._forward import shapes_of
from dgmcore.distributions._inputs import XDict, check_x_dict, sample_shape_of, var_list
from dgmcore.distributions._joint import JointDistribution, MarginalizedDistribution
from dgmcore.distributions._parametric import ParametricDistribution
from dgmcore.distributions._replace import ReplacedVarDistribution
from dgmcore.distributions._sample_dims import extra_sample_dims, sample_dims

__all__ = [
    "Deterministic",
    "Distribution",
    "EmpiricalDistribution",
    "JointDistribution",
    "MarginalizedDistribution",
    "ParametricDistribution",
    "ReplacedVarDistribution",
    "XDict",
    "check_x_dict",
    "extra_sample_dims",
    "kl",
    "sample_dims",
    "sample_shape_of",
    "shapes_of",
    "var_list",
]

__getattr__, __dir__, get = _plugins.namespace("distributions", globals())
