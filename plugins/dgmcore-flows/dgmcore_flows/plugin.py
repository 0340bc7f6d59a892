"""The hook implementations of dgmcore-flows (entry point ``dgmcore.plugins: flows``).

Only ``@dgmcore.hookimpl`` functions live here; each returns fresh data.

Example:
    >>> from dgmcore_flows import plugin
    >>> len(plugin.register_flows()), len(plugin.register_distributions())
    (23, 2)
    >>> sorted(plugin.register_demos())
    ['flow']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dgmcore
from dgmcore_flows import DISTRIBUTIONS, FLOWS

__version__ = "0.1.0"
DGMCORE_API_VERSION = "1.0"


@dgmcore.hookimpl
def register_flows() -> list[type]:
    """Every flow of the plugin (see ``dgmcore_flows.FLOWS``)."""
    return list(FLOWS)


@dgmcore.hookimpl
def register_distributions() -> list[type]:
    """``TransformedDistribution`` and ``InverseTransformedDistribution``."""
    return list(DISTRIBUTIONS)


@dgmcore.hookimpl
def register_demos() -> dict[str, Callable[..., Any]]:
    """The ``flow`` demo: a MAF on the scikit-learn digits (``dgm demo flow``)."""
    from dgmcore_flows.demo import flow_demo

    return {"flow": flow_demo}
