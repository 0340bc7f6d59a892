"""dgmcore-trainers: the models a researcher runs, and the loop that runs them.

* :class:`VAE`, :class:`GAN`, :class:`ML`, :class:`VI`: the core
  :class:`dgmcore.models.Model` with Pixyz's objectives (also found as
  ``dgmcore.models.VAE``... through the plugin's entry point);
* :func:`fit`: the training loop on Lightning Fabric (progress bar,
  validation, ``metrics.csv``, early stopping, clipping, schedulers, mixed
  precision, checkpoints that resume exactly, data-parallel training);
* the lifecycle hooks of :mod:`dgmcore_trainers.hookspecs`;
* ``dgm demo NAME`` and the ``vae`` and ``cvae`` demos.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dgmcore_trainers import hookspecs
from dgmcore_trainers.checkpoint import atomic_save, load_checkpoint
from dgmcore_trainers.errors import CheckpointError, FitConfigError
from dgmcore_trainers.metrics import read_metrics
from dgmcore_trainers.models import GAN, ML, VAE, VI

if TYPE_CHECKING:
    from dgmcore_trainers.loop import fit
    from dgmcore_trainers.run import FitRun

__version__ = "0.1.0"

# Lightning Fabric takes about a second to import: the loop is imported when first used,
# so that plugin discovery (which imports this package) stays fast.
_LAZY = {"fit": "dgmcore_trainers.loop", "FitRun": "dgmcore_trainers.run"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dgmcore_trainers' has no attribute {name!r}")

__all__ = [
    "GAN",
    "ML",
    "VAE",
    "VI",
    "CheckpointError",
    "FitConfigError",
    "FitRun",
    "atomic_save",
    "fit",
    "hookspecs",
    "load_checkpoint",
    "read_metrics",
]
