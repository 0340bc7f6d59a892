"""The process-wide plugin registry and the transitions of its records.

Invariant: :data:`state` ``.plugins`` is the single source of truth; the
per-kind name index (:mod:`dgmcore.plugins._index`) and the hook implementation
cache are derived from the ``ok`` records and rebuilt whenever
``state.generation`` moves, which :func:`bump` does on every change of the
registrations. Every mutation happens under ``state.lock`` (re-entrant: a
plugin being imported may look up another plugin's name).

Warnings are queued while the lock is held and emitted by
:func:`flush_warnings` once the registry is consistent again.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping
from typing import Any

import pluggy

from dgmcore import hookspecs
from dgmcore.errors import PluginError, PluginWarning
from dgmcore.plugins._status import Record

__all__ = [
    "ENV_DISABLE",
    "ENV_NO_AUTOLOAD",
    "ENV_ONLY",
    "ENV_PLUGINS",
    "GROUP",
    "KINDS",
    "State",
    "bump",
    "deactivate",
    "describe",
    "disabled",
    "find",
    "flush_warnings",
    "mark_broken",
    "matches",
    "norm",
    "ok",
    "pm",
    "set_status",
    "split",
    "state",
]

#: The namespaces plugins fill, each fed by the hook ``register_<kind>``.
KINDS = ("distributions", "losses", "flows", "models")
GROUP = "dgmcore.plugins"
ENV_PLUGINS = "DGMCORE_PLUGINS"
ENV_DISABLE = "DGMCORE_DISABLE_PLUGINS"
ENV_NO_AUTOLOAD = "DGMCORE_DISABLE_PLUGIN_AUTOLOAD"
ENV_ONLY = "DGMCORE_ONLY_ENTRY_POINTS"


class State:
    """Everything the plugin system remembers between calls."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.plugins: dict[str, Record] = {}
        self.pending: list[Record] = []
        self.discovered = False
        self.discovering = False
        self.generation = 0
        self.entry_points: bool | frozenset[str] | None = None
        self.use_env = True
        self.extra_specs: list[Any] = []
        self.namespaces: dict[str, Mapping[str, Any]] = {}
        self.index: tuple[int, dict[str, dict[str, list[tuple[str, Any]]]]] | None = None
        self.warn_queue: list[str] = []
        self.warned: set[Any] = set()
        self.impl_cache: dict[str, tuple[int, list[tuple[Record, Any]]]] = {}


state = State()


def pm() -> pluggy.PluginManager:
    """The pluggy manager, created with dgmcore's hookspecs (and any added ones) on first use."""
    if state.pm is None:
        manager = pluggy.PluginManager("dgmcore")
        manager.add_hookspecs(hookspecs)
        for spec in state.extra_specs:
            manager.add_hookspecs(spec)
        state.pm = manager
    return state.pm


def ok() -> list[Record]:
    """The records whose registrations are live, in registration order."""
    return [r for r in list(state.plugins.values()) if r.status == "ok"]


def bump() -> None:
    """Mark the registrations changed: derived indexes and caches rebuild."""
    state.generation += 1


def set_status(rec: Record, status: str, reason: str | None) -> None:
    rec.status, rec.reason = status, reason


def mark_broken(rec: Record, reason: str) -> None:
    """Record ``rec`` as broken (dropping its registrations) and queue one warning."""
    was_ok = rec.status == "ok" and rec.obj is not None
    deactivate(rec)
    set_status(rec, "broken", reason)
    if was_ok:
        bump()
    if (rec.name, reason) not in state.warned:
        state.warned.add((rec.name, reason))
        state.warn_queue.append(f"dgmcore plugin {rec.name!r} ({rec.source}) is broken and was "
                                f"skipped: {reason}")


def deactivate(rec: Record) -> None:
    """Unregister ``rec`` from pluggy and forget what it registered."""
    manager = state.pm
    if manager is not None and rec.obj is not None and manager.is_registered(rec.obj) and \
            manager.get_name(rec.obj) == rec.name:
        manager.unregister(rec.obj)
    rec.classes, rec.kl, rec.entropy, rec.datasets, rec.demos = {}, [], [], {}, {}


def describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def flush_warnings() -> None:
    """Emit the queued :class:`~dgmcore.errors.PluginWarning` messages."""
    # Emitted only once the registry is consistent: a test suite that turns
    # warnings into errors must not leave discovery half done.
    with state.lock:
        queue, state.warn_queue = state.warn_queue, []
    for message in queue:
        warnings.warn(message, PluginWarning, stacklevel=2)


def norm(name: str) -> str:
    """A plugin name as compared: case, ``_`` and ``-`` do not matter."""
    return name.strip().lower().replace("_", "-")


def split(value: str) -> list[str]:
    """The items of a comma-separated environment variable."""
    return [p.strip() for p in value.split(",") if p.strip()]


def disabled() -> frozenset[str]:
    """The (normalized) names blocked by ``DGMCORE_DISABLE_PLUGINS``."""
    return frozenset(norm(n) for n in split(os.environ.get(ENV_DISABLE, "")))


def matches(rec: Record, wanted: frozenset[str]) -> bool:
    """Whether the plugin's name or an alias (distribution, entry point, module) is in ``wanted``."""
    return any(norm(n) in wanted for n in (rec.name, *rec.aliases))


def find(name: str) -> Record:
    """The record named ``name`` (or with that alias, if only one has it).

    Raises:
        PluginError: no plugin, or several, match.
    """
    with state.lock:
        if name in state.plugins:
            return state.plugins[name]
        hits = [r for r in state.plugins.values() if matches(r, frozenset([norm(name)]))]
        if len(hits) == 1:
            return hits[0]
        known = sorted(state.plugins)
    raise PluginError(f"no dgmcore plugin is named {name!r}; known plugins: {known or 'none'}"
                      if not hits else
                      f"{name!r} matches several dgmcore plugins: {[r.name for r in hits]}")
