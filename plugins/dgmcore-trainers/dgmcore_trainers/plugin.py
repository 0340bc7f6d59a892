"""The hook implementations of dgmcore-trainers (entry point ``dgmcore.plugins: trainers``).

Only ``@dgmcore.hookimpl`` functions live here.

Example:
    >>> from dgmcore_trainers import plugin
    >>> sorted(cls.__name__ for cls in plugin.register_models())
    ['GAN', 'ML', 'VAE', 'VI']
    >>> sorted(plugin.register_demos())
    ['cvae', 'vae']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dgmcore
from dgmcore_trainers import hookspecs
from dgmcore_trainers.models import GAN, ML, VAE, VI

__version__ = "0.1.0"
DGMCORE_API_VERSION = "1.0"

dgmcore.plugins.add_hookspecs(hookspecs)


@dgmcore.hookimpl
def register_models() -> list[type]:
    """The four models: VAE, GAN, ML, VI."""
    return [VAE, GAN, ML, VI]


@dgmcore.hookimpl
def register_demos() -> dict[str, Callable[..., Any]]:
    """The ``vae`` and ``cvae`` demos on the scikit-learn digits."""
    from dgmcore_trainers.demos import cvae_demo, vae_demo

    return {"vae": vae_demo, "cvae": cvae_demo}


@dgmcore.hookimpl
def register_commands(cli: Any) -> None:
    """``dgm demo NAME``."""
    from dgmcore_trainers.command import add_demo_command

    add_demo_command(cli)
