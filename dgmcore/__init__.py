"""dgmcore: deep generative models on PyTorch, written the way papers write them.

Distributions wrap neural networks, joint distributions are products of them,
objectives are arithmetic of loss terms, and a :class:`~dgmcore.models.Model`
optimises the objective. The core knows no concrete family: ``Normal``,
``Bernoulli``, flows and trainers come from plugins discovered at run time
(see :mod:`dgmcore.plugins`). ``import dgmcore`` loads no plugin.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Version of the plugin API. A plugin may declare ``DGMCORE_API_VERSION``; a
#: different major number marks it broken.
API_VERSION = "1.0"

#: Marker for hook implementations in plugins: ``@dgmcore.hookimpl``.
hookimpl = pluggy.HookimplMarker("dgmcore")

from dgmcore import errors, memo  # noqa: E402
from dgmcore.errors import DGMError, DGMWarning  # noqa: E402
from dgmcore.latex import print_latex  # noqa: E402

__all__ = [
    "API_VERSION",
    "DGMError",
    "DGMWarning",
    "__version__",
    "errors",
    "hookimpl",
    "memo",
    "print_latex",
]
