"""The hook implementations of dgmcore-timeseries (entry point ``dgmcore.plugins: timeseries``).

Only ``@dgmcore.hookimpl`` functions live here.

Example:
    >>> from dgmcore_timeseries import plugin
    >>> [cls.__name__ for cls in plugin.register_losses()]
    ['IterativeLoss']
"""

from __future__ import annotations

import dgmcore
from dgmcore_timeseries.iterative import IterativeLoss

__version__ = "0.1.0"
DGMCORE_API_VERSION = "1.0"


@dgmcore.hookimpl
def register_losses() -> list[type]:
    """``IterativeLoss``, found as ``dgmcore.losses.IterativeLoss``."""
    return [IterativeLoss]
