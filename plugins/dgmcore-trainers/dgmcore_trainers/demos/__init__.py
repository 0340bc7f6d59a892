"""The demos of dgmcore-trainers: ``vae`` and ``cvae`` on the scikit-learn digits.

The functions here are what ``register_demos`` hands the core: each imports its
demo (and with it Lightning Fabric, scikit-learn and matplotlib) only when the
demo runs, so that loading the plugin stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["cvae_demo", "vae_demo"]


def vae_demo(out: Path, **options: Any) -> Path:
    """The ``vae`` demo (see :func:`dgmcore_trainers.demos.digits_vae.vae_demo`)."""
    from dgmcore_trainers.demos.digits_vae import vae_demo as run

    return run(out, **options)


def cvae_demo(out: Path, **options: Any) -> Path:
    """The ``cvae`` demo (see :func:`dgmcore_trainers.demos.digits_vae.cvae_demo`)."""
    from dgmcore_trainers.demos.digits_vae import cvae_demo as run

    return run(out, **options)
