"""Checking a loaded plugin and collecting what it registers, inside a guard.

pluggy itself does not isolate a failing plugin, so every step here turns a
problem into a ``broken`` record with its reason instead of an exception: an
incompatible ``DGMCORE_API_VERSION``, a hook function missing its
``@dgmcore.hookimpl`` marker, a hook wrapper, a ``register_*`` hook that raises
or returns something malformed, and (through :func:`check_pending`) a hook
name nobody declared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any

import pluggy

import dgmcore
from dgmcore.plugins._records import KINDS, bump, describe, mark_broken, ok, pm, state
from dgmcore.plugins._status import Record

__all__ = ["activate", "check_pending", "impls"]


class _Bad(Exception):
    """A hook returned something malformed or raised (message is the reason)."""


def activate(rec: Record) -> None:
    """Check, register with pluggy and collect the registrations of a loaded plugin."""
    obj = rec.obj
    reason = _api_problem(obj) or _unmarked_hooks(obj)
    if reason:
        mark_broken(rec, reason)
        return
    manager = pm()
    try:
        manager.register(obj, name=rec.name)
    except Exception as err:  # noqa: BLE001 - pluggy validation or duplicate object
        mark_broken(rec, f"cannot be registered: {describe(err)}")
        return
    rec.hooks = sorted(hc.name for hc in manager.get_hookcallers(obj) or ())
    if any(i.plugin is obj and (i.wrapper or i.hookwrapper)
           for hc in manager.get_hookcallers(obj) or () for i in hc.get_hookimpls()):
        mark_broken(rec, "hook wrappers are not supported for dgmcore hooks")
        return
    try:
        for kind in KINDS:
            rec.classes[kind] = _classes(rec, f"register_{kind}")
        rec.kl = [_tuple("register_kl", item, 3) for item in _collect(rec, "register_kl")]
        rec.entropy = [_tuple("register_entropy", item, 2)
                       for item in _collect(rec, "register_entropy")]
        rec.datasets = _named(rec, "register_datasets", "zero-argument loader")
        rec.demos = _named(rec, "register_demos", "demo function")
    except _Bad as bad:
        mark_broken(rec, str(bad))
        return
    rec.status, rec.reason = "ok", None
    bump()


def impls(hook_name: str) -> list[tuple[Record, Any]]:
    """``(record, hookimpl)`` of every ok plugin implementing ``hook_name``, in call order."""
    manager = pm()
    caller = getattr(manager.hook, hook_name, None)
    if caller is None:
        return []
    owners = {id(r.obj): r for r in ok() if r.obj is not None}
    # Registration order (pluggy itself calls the last registered first), with
    # tryfirst / trylast honoured: "first provider" in messages means loaded first.
    found = sorted(caller.get_hookimpls(), key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1)
    return [(owners[id(i.plugin)], i) for i in found if id(i.plugin) in owners]


def check_pending() -> None:
    """Mark broken each plugin implementing a hook nobody declared (check_pending per plugin)."""
    manager = pm()
    while True:
        try:
            manager.check_pending()
            return
        except pluggy.PluginValidationError as err:
            rec = next((r for r in state.plugins.values() if r.obj is err.plugin), None)
            if rec is None:  # registered behind our back; drop it
                manager.unregister(err.plugin)
                continue
            unknown = sorted(hc.name for hc in manager.get_hookcallers(rec.obj) or ()
                             if not hc.has_spec() and any(
                                 i.plugin is rec.obj and not i.optionalhook
                                 for i in hc.get_hookimpls()))
            import difflib

            hints = []
            for n in unknown:
                close = difflib.get_close_matches(n, [h for h in vars(manager.hook)
                                                      if getattr(manager.hook, h).has_spec()], 1)
                hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            mark_broken(rec, "implements unknown hook " + ", ".join(hints) + "; a hook declared by "
                        "another plugin needs @dgmcore.hookimpl(optionalhook=True)")


def _results(rec: Record, hook_name: str) -> list[Any]:
    out = []
    for owner, impl in impls(hook_name):
        if owner is not rec:
            continue
        try:
            result = impl.function()
        except Exception as err:  # noqa: BLE001 - isolation: any plugin failure
            raise _Bad(f"{hook_name}() raised {describe(err)}") from err
        if result is None:
            raise _Bad(f"{hook_name}() returned None; return a list (empty for nothing)"
                       if hook_name not in ("register_datasets", "register_demos") else
                       f"{hook_name}() returned None; return a dict (empty for nothing)")
        out.append(result)
    return out


def _named(rec: Record, hook_name: str, what: str) -> dict[str, Callable[..., Any]]:
    named: dict[str, Callable[..., Any]] = {}
    for result in _results(rec, hook_name):
        if not isinstance(result, Mapping) or not all(
            isinstance(k, str) and callable(v) for k, v in result.items()
        ):
            raise _Bad(f"{hook_name}() must return a dict of name -> {what}, got {result!r}")
        named.update(result)
    return named


def _collect(rec: Record, hook_name: str) -> list[Any]:
    items: list[Any] = []
    for result in _results(rec, hook_name):
        if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
            raise _Bad(f"{hook_name}() must return a list, got {result!r}")
        items.extend(result)
    return items


def _classes(rec: Record, hook_name: str) -> list[type]:
    items = _collect(rec, hook_name)
    for item in items:
        if not isinstance(item, type):
            raise _Bad(f"{hook_name}() must return classes, got {item!r}")
        if item.__name__.startswith("_"):
            raise _Bad(f"{hook_name}() returned {item.__name__}; registered names must be public")
    return list(dict.fromkeys(items))


def _tuple(hook_name: str, item: Any, n: int) -> Any:
    shape = "(type_p, type_q, fn)" if n == 3 else "(type, fn)"
    if (not isinstance(item, tuple) or len(item) != n
            or not all(isinstance(t, type) for t in item[:-1]) or not callable(item[-1])):
        raise _Bad(f"{hook_name}() must return {shape} tuples, got {item!r}")
    return item


def _api_problem(obj: Any) -> str | None:
    declared = getattr(obj, "DGMCORE_API_VERSION", None)
    if declared is None:
        return None
    ours = dgmcore.API_VERSION
    try:
        want = tuple(int(p) for p in str(declared).split(".")[:2])
        have = tuple(int(p) for p in ours.split(".")[:2])
    except ValueError:
        return f"declares DGMCORE_API_VERSION = {declared!r}, which is not 'MAJOR.MINOR'"
    if want[0] != have[0] or want[1:] > have[1:]:
        return (f"declares DGMCORE_API_VERSION = {declared!r}, but this dgmcore "
                f"{dgmcore.__version__} provides plugin API {ours}; upgrade the plugin or dgmcore")
    return None


def _unmarked_hooks(obj: Any) -> str | None:
    if not isinstance(obj, ModuleType):
        return None
    manager = pm()
    bare = [n for n in vars(manager.hook) if not n.startswith("_")
            and getattr(manager.hook, n).has_spec()
            and callable(fn := getattr(obj, n, None))
            and getattr(fn, "__module__", None) == obj.__name__
            and manager.parse_hookimpl_opts(obj, n) is None]
    if bare:
        return "defines " + ", ".join(f"{n}()" for n in sorted(bare)) + \
            " without @dgmcore.hookimpl, so it would never be called"
    return None
