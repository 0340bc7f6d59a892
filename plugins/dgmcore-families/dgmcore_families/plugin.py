"""The hook implementations of dgmcore-families (entry point ``dgmcore.plugins: families``).

Only ``@dgmcore.hookimpl`` functions live here. Each returns data gathered
from the family modules, whose ``KL_PAIRS`` and ``ENTROPIES`` lists (at the
bottom of each module) name what ``torch.distributions`` does not already
provide, keyed by this plugin's own classes (its families, or the
``torch.distributions`` subclasses they build, such as ``NormalDist``) so that
other plugins' families are unaffected; nothing is mutated.

Example:
    >>> from dgmcore_families import plugin
    >>> len(plugin.register_distributions())
    27
    >>> all(len(pair) == 3 for pair in plugin.register_kl())
    True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dgmcore
from dgmcore_families import (
    FAMILIES,
    bernoulli,
    beta,
    categorical,
    gamma,
    location_scale,
    mixture,
    moe,
    multinomial,
    multivariate_normal,
    normal,
    poe,
    poisson,
    relaxed,
    uniform,
)

__version__ = "0.1.0"
DGMCORE_API_VERSION = "1.0"

_MODULES = (
    normal,
    bernoulli,
    categorical,
    multinomial,
    location_scale,
    gamma,
    beta,
    uniform,
    poisson,
    multivariate_normal,
    relaxed,
    mixture,
    moe,
    poe,
)


@dgmcore.hookimpl
def register_distributions() -> list[type]:
    """Every family of the plugin (see ``dgmcore_families.FAMILIES``)."""
    return list(FAMILIES)


@dgmcore.hookimpl
def register_kl() -> list[tuple[type, type, Callable[[Any, Any], Any]]]:
    """The analytic KL pairs the family modules add to ``torch.distributions.kl``."""
    return [pair for module in _MODULES for pair in module.KL_PAIRS]


@dgmcore.hookimpl
def register_entropy() -> list[tuple[type, Callable[[Any], Any]]]:
    """The entropies the family modules add to ``torch.distributions``."""
    return [item for module in _MODULES for item in module.ENTROPIES]
