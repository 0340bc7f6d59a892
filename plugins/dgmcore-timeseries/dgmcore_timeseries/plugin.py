"""The hook implementations of dgmcore-timeseries (entry point ``dgmcore.plugins: timeseries``).

Only ``@dgmcore.hookimpl`` functions live here.

Example:
    >>> from dgmcore_timeseries import plugin
    >>> [cls.__name__ for cls in plugin.register_losses()]
    ['IterativeLoss']
    >>> sorted(plugin.register_datasets()), sorted(plugin.register_demos())
    (['bach_chorales'], ['dmm'])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dgmcore
from dgmcore_timeseries.deferred import dmm_demo, load_chorales
from dgmcore_timeseries.iterative import IterativeLoss

__version__ = "0.1.0"
DGMCORE_API_VERSION = "1.0"


@dgmcore.hookimpl
def register_losses() -> list[type]:
    """``IterativeLoss``, found as ``dgmcore.losses.IterativeLoss``."""
    return [IterativeLoss]


@dgmcore.hookimpl
def register_datasets() -> dict[str, Callable[[], Any]]:
    """``bach_chorales``: the 371 chorales of music21's corpus as quarter-note piano rolls
    (a :class:`~dgmcore_timeseries.chorales.Chorales`; parsed once, then cached)."""
    return {"bach_chorales": load_chorales}


@dgmcore.hookimpl
def register_demos() -> dict[str, Callable[..., Any]]:
    """``dmm``: a deep Markov model trained on the chorales (``dgm demo dmm``), see
    :func:`dgmcore_timeseries.demo.dmm_demo`."""
    return {"dmm": dmm_demo}
