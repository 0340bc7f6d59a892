"""Finding and loading plugins: entry points, environment variables, once per process.

Discovery is lazy: ``import dgmcore`` loads no plugin, and :func:`ensure` (run
by the first lookup or :func:`manager`) finds the candidates, in this order:

1. entry points of the group ``dgmcore.plugins`` (read with importlib-metadata),
   all of them unless ``DGMCORE_DISABLE_PLUGIN_AUTOLOAD=1`` (none),
   ``DGMCORE_ONLY_ENTRY_POINTS=name,...`` (only those) or
   :func:`~dgmcore.plugins.reset` say otherwise;
2. the import paths in ``DGMCORE_PLUGINS=pkg.mod,other.mod``.

Each candidate is imported inside a guard (a failing import marks it broken),
skipped if ``DGMCORE_DISABLE_PLUGINS`` names it, and otherwise activated
(:mod:`dgmcore.plugins._loading`).
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable
from typing import Any

import pluggy

from dgmcore.plugins._index import conflicts
from dgmcore.plugins._loading import activate, check_pending
from dgmcore.plugins._records import (
    ENV_DISABLE,
    ENV_NO_AUTOLOAD,
    ENV_ONLY,
    ENV_PLUGINS,
    GROUP,
    describe,
    disabled,
    flush_warnings,
    mark_broken,
    matches,
    norm,
    pm,
    set_status,
    split,
    state,
)
from dgmcore.plugins._status import Record, dist_name

__all__ = ["ensure", "manager"]


def manager() -> pluggy.PluginManager:
    """The loaded ``pluggy.PluginManager`` (discovers plugins on first use).

    Call hooks through :func:`~dgmcore.plugins.call_hook` rather than
    ``manager().hook`` when a raising plugin must not take the caller down with it.
    """
    ensure()
    return pm()


def ensure() -> None:
    """Discover and load the plugins, unless that has been done since the last reset."""
    if state.discovered:
        return
    with state.lock:
        if state.discovering:
            # Re-entrant: a plugin being imported looks up another plugin's name.
            _drain()
            return
        if state.discovered:
            return
        state.discovering = True
        # Importing plugins allocates many objects and frees few: left on, the cyclic collector
        # runs a full pass over torch's heap in the middle (about 60 ms here, more than the
        # imports themselves). It is paused, not skipped: collection resumes afterwards.
        collecting = gc.isenabled()
        gc.disable()
        try:
            pm()
            state.pending.extend(_candidates())
            _drain()
            check_pending()
            conflicts()
        finally:
            if collecting:
                gc.enable()
            state.discovering = False
            state.discovered = True
    flush_warnings()


def _drain() -> None:
    """Load and activate every pending candidate, each inside a guard."""
    while state.pending:
        rec = state.pending.pop(0)
        if rec.name in state.plugins:  # e.g. register(..., name=) took it before discovery
            taken, rec.name = rec.name, f"{rec.name} ({rec.source})"
            state.plugins.setdefault(rec.name, rec)
            set_status(rec, "disabled", f"the {state.plugins[taken].source} plugin {taken!r} has its name")
            continue
        state.plugins[rec.name] = rec
        if matches(rec, disabled()):
            set_status(rec, "disabled", f"disabled by {ENV_DISABLE}")
            continue
        loader, rec.load = rec.load, None
        try:
            rec.obj = loader() if loader is not None else rec.obj
        except Exception as err:  # noqa: BLE001 - isolation: any import failure
            mark_broken(rec, f"import of {rec.path} failed: {describe(err)}")
            continue
        for other in state.plugins.values():
            if other is not rec and other.obj is rec.obj and other.status == "ok":
                set_status(rec, "disabled", f"same module as dgmcore plugin {other.name!r}")
                break
        else:
            activate(rec)


def _candidates() -> list[Record]:
    found: list[Record] = []
    allowed = state.entry_points
    if allowed is None:
        only = split(os.environ.get(ENV_ONLY, ""))
        if os.environ.get(ENV_NO_AUTOLOAD, "").strip().lower() not in ("", "0", "false", "no"):
            allowed = False
        else:
            allowed = frozenset(norm(n) for n in only) if only else True
    if allowed is not False:
        import importlib_metadata

        # Sorted, so load order (and every message naming "first"/"other") is reproducible.
        eps = sorted(((dist_name(ep.dist), ep) for ep in importlib_metadata.entry_points(group=GROUP)),
                     key=lambda item: (item[0] or "", item[1].name))
        per_dist: dict[str | None, int] = {}
        for dist, _ in eps:
            per_dist[dist] = per_dist.get(dist, 0) + 1
        for dist, ep in eps:
            name = ep.name if dist is None else dist if per_dist[dist] == 1 else f"{dist}:{ep.name}"
            rec = Record(name=name, source="entry point", load=ep.load, path=ep.value,
                         distribution=dist, dist=ep.dist,
                         aliases={ep.name, ep.value.partition(":")[0], *([dist] if dist else [])})
            if allowed is True or matches(rec, allowed):
                found.append(rec)
    for path in split(os.environ.get(ENV_PLUGINS, "")) if state.use_env else ():
        found.append(Record(name=path, source="env", path=path, load=_importer(path),
                            aliases={path.partition(":")[0]}))
    return found


def _importer(path: str) -> Callable[[], Any]:
    def load() -> Any:
        module_name, _, attr = path.partition(":")
        obj = importlib.import_module(module_name)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
        return obj

    return load
