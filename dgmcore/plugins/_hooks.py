"""Hooks beyond the registrations: declaring new ones, and calling one safely.

dgmcore's own hooks are declared in :mod:`dgmcore.hookspecs`; a plugin that
calls hooks of its own (the trainers' lifecycle hooks) declares them with
:func:`add_hookspecs`. :func:`call_hook` calls every implementation inside a
guard, so one raising plugin is marked broken and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dgmcore.errors import PluginError
from dgmcore.plugins._discovery import ensure
from dgmcore.plugins._index import conflicts
from dgmcore.plugins._loading import impls
from dgmcore.plugins._records import describe, flush_warnings, mark_broken, pm, state

__all__ = ["add_hookspecs", "call_hook"]


def add_hookspecs(module_or_class: Any) -> None:
    """Declare additional hooks (for plugins that call hooks of their own).

    Mark each specification with :data:`dgmcore.hookspecs.hookspec` and give it
    a docstring saying when it is called and what it returns; then call this,
    usually at import of the plugin module. The specs survive
    :func:`~dgmcore.plugins.reset`.

    Raises:
        PluginError: a specification has no docstring or is not marked.
    """
    with state.lock:
        specs = [n for n in dir(module_or_class)
                 if pm().parse_hookspec_opts(module_or_class, n) is not None]
    if not specs:
        raise PluginError(f"{module_or_class!r} has no function marked @dgmcore.hookspecs.hookspec")
    for n in specs:
        if not (getattr(getattr(module_or_class, n), "__doc__", None) or "").strip():
            raise PluginError(f"hookspec {n!r} of {module_or_class!r} has no docstring; "
                              "say when it is called and what it returns")
    with state.lock:
        if module_or_class not in state.extra_specs:
            state.extra_specs.append(module_or_class)
            pm().add_hookspecs(module_or_class)


def call_hook(
    hook_name: str, /, *, kwargs_for: Callable[[str], Mapping[str, Any]] | None = None, **kwargs: Any
) -> list[tuple[str, Any]]:
    """Call a hook on every ok plugin, each inside a guard.

    A plugin whose implementation raises is marked broken (with a
    :class:`~dgmcore.errors.PluginWarning`) and the others still run.

    Args:
        hook_name: the hook, e.g. ``"on_fit_start"``.
        kwargs_for: optional ``plugin name -> arguments``, for arguments that
            differ per plugin (``dgm`` gives each plugin its own view of the
            command line); merged over ``kwargs``.
        **kwargs: the hook's arguments; each implementation receives the ones it names.

    Returns:
        ``(plugin name, result)`` for each implementation that ran, in the
        order the plugins were registered (``tryfirst`` / ``trylast`` first / last).
    """
    ensure()
    # Lifecycle hooks run per batch: the implementation list is cached per generation.
    cached = state.impl_cache.get(hook_name)
    if cached is None or cached[0] != state.generation:
        cached = state.impl_cache[hook_name] = (state.generation, impls(hook_name))
    results: list[tuple[str, Any]] = []
    for rec, impl in cached[1]:
        if rec.status != "ok":  # broken by an earlier call in this loop
            continue
        args = {**kwargs, **kwargs_for(rec.name)} if kwargs_for is not None else kwargs
        try:
            results.append((rec.name, impl.function(*[args[a] for a in impl.argnames])))
        except Exception as err:  # noqa: BLE001 - isolation: any plugin failure
            with state.lock:
                mark_broken(rec, f"{hook_name}() raised {describe(err)}")
                conflicts()
    flush_warnings()
    return results
