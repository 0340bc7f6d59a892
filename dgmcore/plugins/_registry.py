"""The registry's public face: registering plugins and looking up what they provide.

:func:`register` and :func:`unregister` change the set of plugins at any time
and the namespaces see the change at once; :func:`generation` moves with every
change so that callers can cache derived tables (the KL registry of
:mod:`dgmcore.distributions` does). Lookups discover plugins first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dgmcore.errors import AmbiguousNameError, PluginError, UnknownNameError
from dgmcore.plugins._discovery import ensure
from dgmcore.plugins._index import (
    ambiguous_message,
    check_kind,
    conflicts,
    index,
    providers,
    unknown_message,
)
from dgmcore.plugins._loading import activate, check_pending
from dgmcore.plugins._records import (
    ENV_DISABLE,
    bump,
    deactivate,
    disabled,
    find,
    flush_warnings,
    matches,
    ok,
    set_status,
    state,
)
from dgmcore.plugins._status import PluginStatus, Record, module_version, status_of

__all__ = [
    "datasets",
    "demos",
    "entropy_fns",
    "generation",
    "get",
    "kl_pairs",
    "load_dataset",
    "names",
    "register",
    "set_commands",
    "statuses",
    "unregister",
]


def register(module_or_object: Any, name: str | None = None) -> PluginStatus:
    """Register a plugin in code: a module or any object with hookimpl methods.

    Works before and after discovery; the namespaces see the new names at once.
    A broken plugin (raising hook, wrong API version, unknown hook) is recorded
    with its reason and a :class:`~dgmcore.errors.PluginWarning`, as for
    installed plugins.

    Args:
        module_or_object: the plugin.
        name: its name in ``dgm plugins``, for :func:`unregister` and qualified
            lookups; defaults to the module's ``__name__``.

    Returns:
        The plugin's :class:`~dgmcore.plugins.PluginStatus`.

    Raises:
        PluginError: the name is taken, or the object is already registered.
    """
    if name is None:
        name = getattr(module_or_object, "__name__", None) or type(module_or_object).__name__
    with state.lock:
        if name in state.plugins:
            raise PluginError(
                f"a dgmcore plugin named {name!r} is already registered; "
                f"call dgmcore.plugins.unregister({name!r}) first or pass another name="
            )
        for other in state.plugins.values():
            if other.obj is module_or_object and other.status == "ok":
                raise PluginError(f"{module_or_object!r} is already registered as {other.name!r}")
        path = getattr(module_or_object, "__name__", None)
        rec = Record(name=name, source="programmatic", obj=module_or_object, path=path,
                     aliases={path} if isinstance(path, str) else set())
        rec.version = module_version(module_or_object)
        state.plugins[name] = rec
        if matches(rec, disabled()):
            set_status(rec, "disabled", f"disabled by {ENV_DISABLE}")
        else:
            activate(rec)
        if state.discovered and not state.discovering:
            check_pending()
        conflicts()
    flush_warnings()
    return status_of(rec)


def unregister(name: str) -> None:
    """Remove a plugin (of any source) by the name ``dgm plugins`` shows.

    Its names leave the namespaces at once. An installed plugin comes back only
    after :func:`~dgmcore.plugins.reset`.

    Raises:
        PluginError: no plugin has that name.
    """
    with state.lock:
        rec = find(name)
        deactivate(rec)
        del state.plugins[rec.name]
        bump()


def get(kind: str, name: str, plugin: str | None = None) -> Any:
    """The class registered under ``name`` in a namespace, optionally from one plugin.

    Args:
        kind: ``"distributions"``, ``"losses"``, ``"flows"`` or ``"models"``.
        name: the class name.
        plugin: the plugin to take it from (its name in ``dgm plugins``, its
            distribution, entry-point or module name); needed when two plugins
            provide the same name.

    Raises:
        AmbiguousNameError: several plugins provide ``name`` and ``plugin`` is None.
        UnknownNameError: nothing (or not ``plugin``) provides ``name``.
        PluginError: ``plugin`` is unknown, broken or disabled.
    """
    check_kind(kind)
    ensure()
    if plugin is not None:
        rec = find(plugin)
        if rec.status != "ok":
            raise PluginError(f"dgmcore plugin {rec.name!r} is {rec.status}: {rec.reason}")
        for cls in rec.classes.get(kind, ()):
            if cls.__name__ == name:
                return cls
        offered = sorted(c.__name__ for c in rec.classes.get(kind, ()))
        raise UnknownNameError(f"dgmcore plugin {rec.name!r} provides no {kind} named {name!r}; "
                               f"it provides {offered or 'none'}")
    core = state.namespaces.get(kind)
    if core is not None and name in core and not name.startswith("_"):
        return core[name]
    found = providers(kind, name)
    if len(found) == 1:
        return found[0][1]
    if found:
        raise AmbiguousNameError(ambiguous_message(kind, name, found))
    raise UnknownNameError(unknown_message(kind, name))


def names(kind: str) -> list[str]:
    """Every name plugins register in a namespace (sorted)."""
    check_kind(kind)
    ensure()
    return sorted(index()[kind])


def kl_pairs() -> list[tuple[type, type, Callable[..., Any]]]:
    """Every ``(type_p, type_q, fn)`` the ok plugins registered with ``register_kl``."""
    ensure()
    return [pair for rec in ok() for pair in rec.kl]


def entropy_fns() -> list[tuple[type, Callable[..., Any]]]:
    """Every ``(type, fn)`` the ok plugins registered with ``register_entropy``."""
    ensure()
    return [pair for rec in ok() for pair in rec.entropy]


def datasets() -> dict[str, Callable[[], Any]]:
    """Data-set loaders by name, from ``register_datasets``.

    A name two plugins provide is left out (and warned about at load); pick
    one with :func:`load_dataset`'s ``plugin=``.
    """
    ensure()
    found: dict[str, list[Callable[[], Any]]] = {}
    for rec in ok():
        for key, loader in rec.datasets.items():
            found.setdefault(key, []).append(loader)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def demos() -> dict[str, Callable[..., Any]]:
    """Demos by name, from ``register_demos`` (see :func:`dgmcore.hookspecs.register_demos`).

    A name two plugins provide is left out (and warned about at load).
    """
    ensure()
    found: dict[str, list[Callable[..., Any]]] = {}
    for rec in ok():
        for key, demo in rec.demos.items():
            found.setdefault(key, []).append(demo)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def load_dataset(name: str, plugin: str | None = None) -> Any:
    """Load a bundled data set by name (calls its loader).

    Raises:
        UnknownNameError: no ok plugin provides it.
        AmbiguousNameError: several do and ``plugin`` is None.
    """
    ensure()
    recs = [find(plugin)] if plugin is not None else ok()
    found = [(r.name, r.datasets[name]) for r in recs if r.status == "ok" and name in r.datasets]
    if len(found) > 1:
        raise AmbiguousNameError(
            f"data set {name!r} is provided by " + " and ".join(repr(n) for n, _ in found)
            + f"; pass plugin=, e.g. dgmcore.plugins.load_dataset({name!r}, plugin={found[0][0]!r})"
        )
    if not found:
        raise UnknownNameError(f"no installed dgmcore plugin provides the data set {name!r}; "
                               f"available: {sorted(datasets())}")
    return found[0][1]()


def generation() -> int:
    """A counter that increases whenever the set of registrations changes."""
    return state.generation


def statuses() -> list[PluginStatus]:
    """A :class:`~dgmcore.plugins.PluginStatus` for every known plugin (discovers first)."""
    ensure()
    with state.lock:
        return [status_of(rec) for rec in state.plugins.values()]


def set_commands(name: str, commands: list[str]) -> None:
    """Record the ``dgm`` subcommands a plugin added (used by :mod:`dgmcore.cli`)."""
    with state.lock:
        if name in state.plugins:
            state.plugins[name].commands = commands
