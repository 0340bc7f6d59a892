"""The hook implementations of dgmcore-adversarial (entry point ``dgmcore.plugins: adversarial``).

Only ``@dgmcore.hookimpl`` functions live here; they return fresh data and
mutate nothing.

Example:
    >>> from dgmcore_adversarial import plugin
    >>> [cls.__name__ for cls in plugin.register_losses()][:2]
    ['AdversarialJensenShannon', 'AdversarialKullbackLeibler']
    >>> sorted(plugin.register_demos())
    ['gan']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dgmcore
from dgmcore_adversarial import LOSSES

__version__ = "0.1.0"
DGMCORE_API_VERSION = "1.0"


@dgmcore.hookimpl
def register_losses() -> list[type]:
    """The adversarial losses, MMD, the density ratio and the total correlation."""
    return list(LOSSES)


@dgmcore.hookimpl
def register_demos() -> dict[str, Callable[..., Any]]:
    """``gan``: a WGAN-GP on the scikit-learn digits (``dgm demo gan``)."""
    from dgmcore_adversarial.demo import gan_demo

    return {"gan": gan_demo}
