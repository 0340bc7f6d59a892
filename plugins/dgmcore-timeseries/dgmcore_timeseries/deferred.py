"""What ``register_datasets`` and ``register_demos`` hand the core, imported when first called.

Parsing the chorales needs NumPy and music21, and the demo the models and
matplotlib: loading the plugin (which every ``dgmcore`` namespace lookup does)
imports none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["dmm_demo", "load_chorales"]


def load_chorales(*args: Any, **kwargs: Any) -> Any:
    """The Bach chorales (see :func:`dgmcore_timeseries.chorales.load_chorales`)."""
    from dgmcore_timeseries.chorales import load_chorales as load

    return load(*args, **kwargs)


def dmm_demo(out: Path, **options: Any) -> Path:
    """The ``dmm`` demo (see :func:`dgmcore_timeseries.demo.dmm_demo`)."""
    from dgmcore_timeseries.demo import dmm_demo as run

    return run(out, **options)
