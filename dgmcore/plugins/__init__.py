"""Plugin discovery, isolation and the registry behind the lazy namespaces.

``import dgmcore`` loads no plugin. The first lookup of a name in
``dgmcore.distributions``, ``dgmcore.losses``, ``dgmcore.flows`` or
``dgmcore.models`` (or a call to :func:`manager`) discovers plugins once per
process, in this order:

1. entry points of the group ``dgmcore.plugins`` (read with importlib-metadata),
   all of them unless ``DGMCORE_DISABLE_PLUGIN_AUTOLOAD=1`` (none),
   ``DGMCORE_ONLY_ENTRY_POINTS=name,...`` (only those) or :func:`reset` say otherwise;
2. the import paths in ``DGMCORE_PLUGINS=pkg.mod,other.mod``.

:func:`register` and :func:`unregister` change the set at any time; namespaces
see the change at once. ``DGMCORE_DISABLE_PLUGINS=name,...`` blocks plugins by
the name ``dgm plugins`` shows (or their distribution, entry-point or module
name): they are recorded as ``disabled`` and never imported.

Isolation: every plugin is imported, checked and asked for its registrations
inside a guard. A plugin that fails to import, declares an incompatible
``DGMCORE_API_VERSION``, implements an unknown hook or raises in a hook is
recorded as ``broken`` with the reason, one :class:`~dgmcore.errors.PluginWarning`
is emitted, and everything else keeps working.

Invariant: the registry (``state.plugins`` in :mod:`dgmcore.plugins._records`) is
the single source of truth; the per-kind name index is derived from the ``ok``
plugins and rebuilt whenever :func:`generation` moves, which it does on every
change of the registrations. What lives in which module: see ``README.md``.

Example:
    >>> import types
    >>> import dgmcore
    >>> from dgmcore import plugins
    >>> class Thing:
    ...     pass
    >>> module = types.ModuleType("my_private_plugin")
    >>> module.register_models = dgmcore.hookimpl(lambda: [Thing])
    >>> module.register_models.__name__ = "register_models"
    >>> plugins.register(module, name="my-private-plugin").status
    'ok'
    >>> plugins.get("models", "Thing", plugin="my-private-plugin") is Thing
    True
    >>> plugins.unregister("my-private-plugin")
"""

from __future__ import annotations

from dgmcore.errors import UnknownAttributeError as UnknownAttributeError
from dgmcore.plugins._discovery import manager
from dgmcore.plugins._hooks import add_hookspecs, call_hook
from dgmcore.plugins._isolation import isolated, reset
from dgmcore.plugins._lazy import namespace
from dgmcore.plugins._records import ENV_DISABLE as ENV_DISABLE
from dgmcore.plugins._records import ENV_NO_AUTOLOAD as ENV_NO_AUTOLOAD
from dgmcore.plugins._records import ENV_ONLY as ENV_ONLY
from dgmcore.plugins._records import ENV_PLUGINS as ENV_PLUGINS
from dgmcore.plugins._records import GROUP as GROUP
from dgmcore.plugins._records import KINDS
from dgmcore.plugins._records import state as _state  # noqa: F401 - tests read _state.discovered
from dgmcore.plugins._registry import (
    datasets,
    demos,
    entropy_fns,
    generation,
    get,
    kl_pairs,
    load_dataset,
    names,
    register,
    statuses,
    unregister,
)
from dgmcore.plugins._status import PluginStatus

__all__ = [
    "KINDS",
    "PluginStatus",
    "add_hookspecs",
    "call_hook",
    "datasets",
    "demos",
    "entropy_fns",
    "generation",
    "get",
    "isolated",
    "kl_pairs",
    "load_dataset",
    "manager",
    "names",
    "namespace",
    "register",
    "reset",
    "statuses",
    "unregister",
]
