"""The hook implementations of dgmcore-flows (entry point ``dgmcore.plugins: flows``).

Only ``@dgmcore.hookimpl`` functions live here; each returns fresh data.

Example:
    >>> from dgmcore_flows import plugin
    >>> len(plugin.register_flows()), len(plugin.register_distributions())
    (23, 2)
"""

from __future__ import annotations

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
