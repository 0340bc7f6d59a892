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

Invariant: the registry (``_State.plugins``) is the single source of truth; the
per-kind name index is derived from the ``ok`` plugins and rebuilt whenever
:func:`generation` moves, which it does on every change of the registrations.

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

import importlib
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

import dgmcore
from dgmcore import hookspecs
from dgmcore.errors import (
    AmbiguousNameError,
    DGMError,
    PluginError,
    PluginWarning,
    UnknownNameError,
)

__all__ = [
    "KINDS",
    "PluginStatus",
    "add_hookspecs",
    "call_hook",
    "datasets",
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

#: The namespaces plugins fill, each fed by the hook ``register_<kind>``.
KINDS = ("distributions", "losses", "flows", "models")
GROUP = "dgmcore.plugins"
ENV_PLUGINS = "DGMCORE_PLUGINS"
ENV_DISABLE = "DGMCORE_DISABLE_PLUGINS"
ENV_NO_AUTOLOAD = "DGMCORE_DISABLE_PLUGIN_AUTOLOAD"
ENV_ONLY = "DGMCORE_ONLY_ENTRY_POINTS"

# Which first-party package provides a name, for the "pip install" hint. This
# is the only place the core names concrete families, flows, losses or models.
_FAMILIES = (
    "Normal Bernoulli Categorical OneHotCategorical Multinomial Laplace Beta Gamma Dirichlet "
    "Uniform Poisson StudentT Cauchy Exponential LogNormal MultivariateNormal "
    "LowRankMultivariateNormal RelaxedBernoulli RelaxedOneHotCategorical FactorizedBernoulli "
    "MixtureModel ProductOfNormal ElementWiseProductOfNormal MixtureOfNormal MixtureOfExperts"
)
_HINTS: dict[str, tuple[str, str]] = {
    **{n: ("dgmcore-families", "distributions") for n in _FAMILIES.split()},
    **{n: ("dgmcore-flows", "distributions") for n in
       ("TransformedDistribution", "InverseTransformedDistribution")},
    **{n: ("dgmcore-flows", "flows") for n in
       ("PlanarFlow", "RadialFlow", "AffineCoupling", "MaskedAutoregressiveFlow", "BatchNorm1d",
        "Preprocess", "Flow", "FlowList", "Permute", "Squeeze", "Shuffle", "Reverse")},
    **{n: ("dgmcore-adversarial", "losses") for n in
       ("AdversarialJensenShannon", "AdversarialKullbackLeibler",
        "AdversarialWassersteinDistance", "MMD")},
    "IterativeLoss": ("dgmcore-timeseries", "losses"),
    **{n: ("dgmcore-trainers", "models") for n in ("VAE", "GAN", "ML", "VI")},
}

@dataclass(frozen=True)
class PluginStatus:
    """What ``dgm plugins`` shows about one plugin.

    Attributes:
        name: the plugin's name: its distribution's name for an entry point
            (``"dgmcore-families"``), the import path for ``DGMCORE_PLUGINS``,
            the ``name=`` given to :func:`register`.
        version: the version of the distribution providing it, or the module's
            ``__version__``, or None.
        source: ``"entry point"``, ``"env"`` or ``"programmatic"``.
        status: ``"ok"``, ``"broken"`` or ``"disabled"``.
        reason: why it is broken or disabled (None when ok).
        provides: what it registered, by kind (``"distributions"``, ``"losses"``,
            ``"flows"``, ``"models"``, ``"kl"``, ``"entropy"``, ``"datasets"``,
            ``"commands"``); kinds with nothing are left out.
        module: the import path of the plugin module (None for a non-module).
        distribution: the installed distribution it comes from, if known.
        hooks: the hooks it implements.
    """

    name: str
    version: str | None
    source: str
    status: str
    reason: str | None
    provides: dict[str, list[str]] = field(default_factory=dict)
    module: str | None = None
    distribution: str | None = None
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (``dgm plugins --json``)."""
        return {
            "name": self.name, "version": self.version, "source": self.source,
            "status": self.status, "reason": self.reason,
            "provides": {k: list(v) for k, v in self.provides.items()},
            "module": self.module, "distribution": self.distribution, "hooks": list(self.hooks),
        }


@dataclass
class _Plugin:
    name: str
    source: str
    load: Callable[[], Any] | None = None  # None once loaded (or for register())
    path: str | None = None  # import path, for messages
    distribution: str | None = None
    dist: Any = None  # the importlib-metadata Distribution; its version is read lazily
    version: str | None = None
    aliases: set[str] = field(default_factory=set)
    obj: Any = None
    status: str = "ok"
    reason: str | None = None
    classes: dict[str, list[type]] = field(default_factory=dict)
    kl: list[tuple[type, type, Callable[..., Any]]] = field(default_factory=list)
    entropy: list[tuple[type, Callable[..., Any]]] = field(default_factory=list)
    datasets: dict[str, Callable[[], Any]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.plugins: dict[str, _Plugin] = {}
        self.pending: list[_Plugin] = []
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
        self.impl_cache: dict[str, tuple[int, list[tuple[_Plugin, Any]]]] = {}


_state = _State()


# ----------------------------------------------------------------------------- public API


def manager() -> pluggy.PluginManager:
    """The loaded ``pluggy.PluginManager`` (discovers plugins on first use).

    Call hooks through :func:`call_hook` rather than ``manager().hook`` when a
    raising plugin must not take the caller down with it.
    """
    _ensure()
    return _pm()


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
        The plugin's :class:`PluginStatus`.

    Raises:
        PluginError: the name is taken, or the object is already registered.
    """
    if name is None:
        name = getattr(module_or_object, "__name__", None) or type(module_or_object).__name__
    with _state.lock:
        if name in _state.plugins:
            raise PluginError(
                f"a dgmcore plugin named {name!r} is already registered; "
                f"call dgmcore.plugins.unregister({name!r}) first or pass another name="
            )
        for other in _state.plugins.values():
            if other.obj is module_or_object and other.status == "ok":
                raise PluginError(f"{module_or_object!r} is already registered as {other.name!r}")
        path = getattr(module_or_object, "__name__", None)
        rec = _Plugin(name=name, source="programmatic", obj=module_or_object, path=path,
                      aliases={path} if isinstance(path, str) else set())
        rec.version = _version_of(module_or_object)
        _state.plugins[name] = rec
        if _matches(rec, _disabled()):
            _set(rec, "disabled", f"disabled by {ENV_DISABLE}")
        else:
            _activate(rec)
        if _state.discovered and not _state.discovering:
            _check_pending()
        _conflicts()
    _flush_warnings()
    return _status(rec)


def unregister(name: str) -> None:
    """Remove a plugin (of any source) by the name ``dgm plugins`` shows.

    Its names leave the namespaces at once. An installed plugin comes back only
    after :func:`reset`.

    Raises:
        PluginError: no plugin has that name.
    """
    with _state.lock:
        rec = _find(name)
        _deactivate(rec)
        del _state.plugins[rec.name]
        _bump()


def reset(*, entry_points: bool | Iterable[str] | None = None, env: bool = True) -> None:
    """Forget every plugin; the next lookup discovers again. For tests.

    Args:
        entry_points: which installed plugins discovery may load from now on:
            None (the default) follows the environment
            (``DGMCORE_DISABLE_PLUGIN_AUTOLOAD=1``: none;
            ``DGMCORE_ONLY_ENTRY_POINTS=name,...``: only those; otherwise all);
            True loads all; False loads none; an iterable of names loads only
            those (matched like ``DGMCORE_DISABLE_PLUGINS``).
        env: whether discovery loads the modules named in ``DGMCORE_PLUGINS``.

    Hookspecs added with :func:`add_hookspecs` are kept.
    """
    with _state.lock:
        if _state.pm is not None:
            for rec in _state.plugins.values():
                _deactivate(rec)
        if entry_points is None or isinstance(entry_points, bool):
            _state.entry_points = entry_points
        else:
            _state.entry_points = frozenset(_norm(n) for n in entry_points)
        _state.use_env = env
        _state.pm = None
        _state.plugins.clear()
        _state.pending.clear()
        _state.discovered = _state.discovering = False
        _state.warned.clear()
        _state.warn_queue.clear()
        _bump()


@contextmanager
def isolated(*, entry_points: bool | Iterable[str] = False) -> Iterator[pluggy.PluginManager]:
    """A clean plugin registry for the duration of a ``with`` block. For tests.

    By default no installed plugin and nothing from ``DGMCORE_PLUGINS`` is
    loaded inside the block, so a user's plugins never leak into a test;
    :func:`register` what the test needs. On exit the registry is reset again
    and later lookups rediscover as before.

    Example:
        >>> from dgmcore import plugins
        >>> with plugins.isolated():
        ...     [s.name for s in plugins.statuses()]
        []
    """
    previous = _state.entry_points, _state.use_env
    reset(entry_points=entry_points, env=False)
    try:
        yield manager()
    finally:
        reset(entry_points=previous[0], env=previous[1])


def add_hookspecs(module_or_class: Any) -> None:
    """Declare additional hooks (for plugins that call hooks of their own).

    Mark each specification with :data:`dgmcore.hookspecs.hookspec` and give it
    a docstring saying when it is called and what it returns; then call this,
    usually at import of the plugin module. The specs survive :func:`reset`.

    Raises:
        PluginError: a specification has no docstring or is not marked.
    """
    with _state.lock:
        specs = [n for n in dir(module_or_class)
                 if _pm().parse_hookspec_opts(module_or_class, n) is not None]
    if not specs:
        raise PluginError(f"{module_or_class!r} has no function marked @dgmcore.hookspecs.hookspec")
    for n in specs:
        if not (getattr(getattr(module_or_class, n), "__doc__", None) or "").strip():
            raise PluginError(f"hookspec {n!r} of {module_or_class!r} has no docstring; "
                              "say when it is called and what it returns")
    with _state.lock:
        if module_or_class not in _state.extra_specs:
            _state.extra_specs.append(module_or_class)
            _pm().add_hookspecs(module_or_class)


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
    _ensure()
    # Lifecycle hooks run per batch: the implementation list is cached per generation.
    cached = _state.impl_cache.get(hook_name)
    if cached is None or cached[0] != _state.generation:
        cached = _state.impl_cache[hook_name] = (_state.generation, _impls(hook_name))
    results: list[tuple[str, Any]] = []
    for rec, impl in cached[1]:
        if rec.status != "ok":  # broken by an earlier call in this loop
            continue
        args = {**kwargs, **kwargs_for(rec.name)} if kwargs_for is not None else kwargs
        try:
            results.append((rec.name, impl.function(*[args[a] for a in impl.argnames])))
        except Exception as err:  # noqa: BLE001 - isolation: any plugin failure
            with _state.lock:
                _break(rec, f"{hook_name}() raised {_describe(err)}")
                _conflicts()
    _flush_warnings()
    return results


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
    _check_kind(kind)
    _ensure()
    if plugin is not None:
        rec = _find(plugin)
        if rec.status != "ok":
            raise PluginError(f"dgmcore plugin {rec.name!r} is {rec.status}: {rec.reason}")
        for cls in rec.classes.get(kind, ()):
            if cls.__name__ == name:
                return cls
        offered = sorted(c.__name__ for c in rec.classes.get(kind, ()))
        raise UnknownNameError(f"dgmcore plugin {rec.name!r} provides no {kind} named {name!r}; "
                             f"it provides {offered or 'none'}")
    core = _state.namespaces.get(kind)
    if core is not None and name in core and not name.startswith("_"):
        return core[name]
    providers = _providers(kind, name)
    if len(providers) == 1:
        return providers[0][1]
    if providers:
        raise AmbiguousNameError(_ambiguous_message(kind, name, providers))
    raise UnknownNameError(_unknown_message(kind, name))


def names(kind: str) -> list[str]:
    """Every name plugins register in a namespace (sorted)."""
    _check_kind(kind)
    _ensure()
    return sorted(_index()[kind])


def namespace(
    kind: str, module_globals: MutableMapping[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], Callable[..., Any]]:
    """Module-level ``__getattr__``, ``__dir__`` and ``get`` for a lazy namespace.

    Used by the core packages::

        __getattr__, __dir__, get = _plugins.namespace("distributions", globals())

    ``__getattr__(name)`` returns the class a plugin registered under ``name``,
    discovering plugins on first use; names starting with ``_`` raise a plain
    ``AttributeError`` without discovery. An unknown name raises
    :class:`~dgmcore.errors.UnknownNameError` saying that no installed plugin
    provides it and, for first-party names, which package to ``pip install``.
    ``__dir__()`` lists the module's own globals and every registered name.
    ``get(name, plugin=None)`` is :func:`get` for this namespace.
    """
    _check_kind(kind)
    modname = module_globals["__name__"]
    _state.namespaces[kind] = module_globals

    def __getattr__(name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(f"module {modname!r} has no attribute {name!r}")
        caller = sys._getframe(1)
        if caller.f_globals.get("__name__") == "importlib._bootstrap" and _is_submodule(
            module_globals, name
        ):  # `from package import submodule` probes hasattr first; stay lazy
            raise AttributeError(f"module {modname!r} has no attribute {name!r}")
        try:
            return get(kind, name)
        except UnknownNameError as err:
            if _in_import_from(caller):
                raise
            # Attribute access must raise an AttributeError (hasattr, getattr
            # with a default); only ``from ... import`` wants an ImportError.
            raise UnknownAttributeError(str(err)) from None

    def __dir__() -> list[str]:
        return sorted(set(module_globals) | set(names(kind)))

    def get_(name: str, plugin: str | None = None) -> Any:
        return get(kind, name, plugin=plugin)

    get_.__name__ = get_.__qualname__ = "get"
    get_.__doc__ = (
        f"The class ``name`` of ``{modname}``; ``plugin=`` picks one provider when several "
        f"plugins register the same name (see :func:`dgmcore.plugins.get`)."
    )
    return __getattr__, __dir__, get_


def kl_pairs() -> list[tuple[type, type, Callable[..., Any]]]:
    """Every ``(type_p, type_q, fn)`` the ok plugins registered with ``register_kl``."""
    _ensure()
    return [pair for rec in _ok() for pair in rec.kl]


def entropy_fns() -> list[tuple[type, Callable[..., Any]]]:
    """Every ``(type, fn)`` the ok plugins registered with ``register_entropy``."""
    _ensure()
    return [pair for rec in _ok() for pair in rec.entropy]


def datasets() -> dict[str, Callable[[], Any]]:
    """Data-set loaders by name, from ``register_datasets``.

    A name two plugins provide is left out (and warned about at load); pick
    one with :func:`load_dataset`'s ``plugin=``.
    """
    _ensure()
    found: dict[str, list[Callable[[], Any]]] = {}
    for rec in _ok():
        for key, loader in rec.datasets.items():
            found.setdefault(key, []).append(loader)
    return {k: v[0] for k, v in found.items() if len(v) == 1}


def load_dataset(name: str, plugin: str | None = None) -> Any:
    """Load a bundled data set by name (calls its loader).

    Raises:
        UnknownNameError: no ok plugin provides it.
        AmbiguousNameError: several do and ``plugin`` is None.
    """
    _ensure()
    recs = [_find(plugin)] if plugin is not None else _ok()
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
    return _state.generation


def statuses() -> list[PluginStatus]:
    """A :class:`PluginStatus` for every known plugin (discovers first)."""
    _ensure()
    with _state.lock:
        return [_status(rec) for rec in _state.plugins.values()]


# ----------------------------------------------------------------------------- discovery


def _pm() -> pluggy.PluginManager:
    if _state.pm is None:
        pm = pluggy.PluginManager("dgmcore")
        pm.add_hookspecs(hookspecs)
        for spec in _state.extra_specs:
            pm.add_hookspecs(spec)
        _state.pm = pm
    return _state.pm


def _ensure() -> None:
    if _state.discovered:
        return
    with _state.lock:
        if _state.discovering:
            # Re-entrant: a plugin being imported looks up another plugin's name.
            _drain()
            return
        if _state.discovered:
            return
        _state.discovering = True
        try:
            _pm()
            _state.pending.extend(_candidates())
            _drain()
            _check_pending()
            _conflicts()
        finally:
            _state.discovering = False
            _state.discovered = True
    _flush_warnings()


def _candidates() -> list[_Plugin]:
    found: list[_Plugin] = []
    allowed = _state.entry_points
    if allowed is None:
        only = _split(os.environ.get(ENV_ONLY, ""))
        if os.environ.get(ENV_NO_AUTOLOAD, "").strip().lower() not in ("", "0", "false", "no"):
            allowed = False
        else:
            allowed = frozenset(_norm(n) for n in only) if only else True
    if allowed is not False:
        import importlib_metadata

        # Sorted, so load order (and every message naming "first"/"other") is reproducible.
        eps = sorted(((_dist_name(ep.dist), ep) for ep in importlib_metadata.entry_points(group=GROUP)),
                     key=lambda item: (item[0] or "", item[1].name))
        per_dist: dict[str | None, int] = {}
        for dist, _ in eps:
            per_dist[dist] = per_dist.get(dist, 0) + 1
        for dist, ep in eps:
            name = ep.name if dist is None else dist if per_dist[dist] == 1 else f"{dist}:{ep.name}"
            rec = _Plugin(name=name, source="entry point", load=ep.load, path=ep.value,
                          distribution=dist, dist=ep.dist,
                          aliases={ep.name, ep.value.partition(":")[0], *([dist] if dist else [])})
            if allowed is True or _matches(rec, allowed):
                found.append(rec)
    for path in _split(os.environ.get(ENV_PLUGINS, "")) if _state.use_env else ():
        found.append(_Plugin(name=path, source="env", path=path, load=_importer(path),
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


def _drain() -> None:
    while _state.pending:
        rec = _state.pending.pop(0)
        if rec.name in _state.plugins:  # e.g. register(..., name=) took it before discovery
            taken, rec.name = rec.name, f"{rec.name} ({rec.source})"
            _state.plugins.setdefault(rec.name, rec)
            _set(rec, "disabled", f"the {_state.plugins[taken].source} plugin {taken!r} has its name")
            continue
        _state.plugins[rec.name] = rec
        if _matches(rec, _disabled()):
            _set(rec, "disabled", f"disabled by {ENV_DISABLE}")
            continue
        loader, rec.load = rec.load, None
        try:
            rec.obj = loader() if loader is not None else rec.obj
        except Exception as err:  # noqa: BLE001 - isolation: any import failure
            _break(rec, f"import of {rec.path} failed: {_describe(err)}")
            continue
        for other in _state.plugins.values():
            if other is not rec and other.obj is rec.obj and other.status == "ok":
                _set(rec, "disabled", f"same module as dgmcore plugin {other.name!r}")
                break
        else:
            _activate(rec)


def _activate(rec: _Plugin) -> None:
    """Check, register with pluggy and collect the registrations of a loaded plugin."""
    obj = rec.obj
    reason = _api_problem(obj) or _unmarked_hooks(obj)
    if reason:
        _break(rec, reason)
        return
    pm = _pm()
    try:
        pm.register(obj, name=rec.name)
    except Exception as err:  # noqa: BLE001 - pluggy validation or duplicate object
        _break(rec, f"cannot be registered: {_describe(err)}")
        return
    rec.hooks = sorted(hc.name for hc in pm.get_hookcallers(obj) or ())
    if any(i.plugin is obj and (i.wrapper or i.hookwrapper)
           for hc in pm.get_hookcallers(obj) or () for i in hc.get_hookimpls()):
        _break(rec, "hook wrappers are not supported for dgmcore hooks")
        return
    try:
        for kind in KINDS:
            rec.classes[kind] = _classes(rec, f"register_{kind}")
        rec.kl = [_tuple(rec, "register_kl", item, 3) for item in _collect(rec, "register_kl")]
        rec.entropy = [_tuple(rec, "register_entropy", item, 2)
                       for item in _collect(rec, "register_entropy")]
        rec.datasets = {}
        for result in _results(rec, "register_datasets"):
            if not isinstance(result, Mapping) or not all(
                isinstance(k, str) and callable(v) for k, v in result.items()
            ):
                raise _Bad("register_datasets() must return a dict of name -> zero-argument "
                           f"loader, got {result!r}")
            rec.datasets.update(result)
    except _Bad as bad:
        _break(rec, str(bad))
        return
    rec.status, rec.reason = "ok", None
    _bump()


class _Bad(Exception):
    """A hook returned something malformed or raised (message is the reason)."""


def _results(rec: _Plugin, hook_name: str) -> list[Any]:
    out = []
    for owner, impl in _impls(hook_name):
        if owner is not rec:
            continue
        try:
            result = impl.function()
        except Exception as err:  # noqa: BLE001 - isolation: any plugin failure
            raise _Bad(f"{hook_name}() raised {_describe(err)}") from err
        if result is None:
            raise _Bad(f"{hook_name}() returned None; return a list (empty for nothing)"
                       if hook_name != "register_datasets" else
                       f"{hook_name}() returned None; return a dict (empty for nothing)")
        out.append(result)
    return out


def _collect(rec: _Plugin, hook_name: str) -> list[Any]:
    items: list[Any] = []
    for result in _results(rec, hook_name):
        if isinstance(result, (str, bytes, Mapping)) or not isinstance(result, Iterable):
            raise _Bad(f"{hook_name}() must return a list, got {result!r}")
        items.extend(result)
    return items


def _classes(rec: _Plugin, hook_name: str) -> list[type]:
    items = _collect(rec, hook_name)
    for item in items:
        if not isinstance(item, type):
            raise _Bad(f"{hook_name}() must return classes, got {item!r}")
        if item.__name__.startswith("_"):
            raise _Bad(f"{hook_name}() returned {item.__name__}; registered names must be public")
    return list(dict.fromkeys(items))


def _tuple(rec: _Plugin, hook_name: str, item: Any, n: int) -> Any:
    shape = "(type_p, type_q, fn)" if n == 3 else "(type, fn)"
    if (not isinstance(item, tuple) or len(item) != n
            or not all(isinstance(t, type) for t in item[:-1]) or not callable(item[-1])):
        raise _Bad(f"{hook_name}() must return {shape} tuples, got {item!r}")
    return item


def _impls(hook_name: str) -> list[tuple[_Plugin, Any]]:
    pm = _pm()
    caller = getattr(pm.hook, hook_name, None)
    if caller is None:
        return []
    owners = {id(r.obj): r for r in _ok() if r.obj is not None}
    # Registration order (pluggy itself calls the last registered first), with
    # tryfirst / trylast honoured: "first provider" in messages means loaded first.
    impls = sorted(caller.get_hookimpls(), key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1)
    return [(owners[id(i.plugin)], i) for i in impls if id(i.plugin) in owners]


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
    pm = _pm()
    bare = [n for n in vars(pm.hook) if not n.startswith("_") and getattr(pm.hook, n).has_spec()
            and callable(fn := getattr(obj, n, None))
            and getattr(fn, "__module__", None) == obj.__name__
            and pm.parse_hookimpl_opts(obj, n) is None]
    if bare:
        return "defines " + ", ".join(f"{n}()" for n in sorted(bare)) + \
            " without @dgmcore.hookimpl, so it would never be called"
    return None


def _check_pending() -> None:
    """Mark broken each plugin implementing a hook nobody declared (check_pending per plugin)."""
    pm = _pm()
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as err:
            rec = next((r for r in _state.plugins.values() if r.obj is err.plugin), None)
            if rec is None:  # registered behind our back; drop it
                pm.unregister(err.plugin)
                continue
            unknown = sorted(hc.name for hc in pm.get_hookcallers(rec.obj) or ()
                             if not hc.has_spec() and any(
                                 i.plugin is rec.obj and not i.optionalhook
                                 for i in hc.get_hookimpls()))
            import difflib

            hints = []
            for n in unknown:
                close = difflib.get_close_matches(n, [h for h in vars(pm.hook)
                                                      if getattr(pm.hook, h).has_spec()], 1)
                hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            _break(rec, "implements unknown hook " + ", ".join(hints) + "; a hook declared by "
                   "another plugin needs @dgmcore.hookimpl(optionalhook=True)")


# ----------------------------------------------------------------------------- records


def _set(rec: _Plugin, status: str, reason: str | None) -> None:
    rec.status, rec.reason = status, reason


def _break(rec: _Plugin, reason: str) -> None:
    was_ok = rec.status == "ok" and rec.obj is not None
    _deactivate(rec)
    _set(rec, "broken", reason)
    if was_ok:
        _bump()
    if (rec.name, reason) not in _state.warned:
        _state.warned.add((rec.name, reason))
        _state.warn_queue.append(f"dgmcore plugin {rec.name!r} ({rec.source}) is broken and was "
                                 f"skipped: {reason}")


def _deactivate(rec: _Plugin) -> None:
    pm = _state.pm
    if pm is not None and rec.obj is not None and pm.is_registered(rec.obj) and \
            pm.get_name(rec.obj) == rec.name:
        pm.unregister(rec.obj)
    rec.classes, rec.kl, rec.entropy, rec.datasets = {}, [], [], {}


def _bump() -> None:
    _state.generation += 1


def _ok() -> list[_Plugin]:
    return [r for r in list(_state.plugins.values()) if r.status == "ok"]


def _status(rec: _Plugin) -> PluginStatus:
    provides = {k: sorted(c.__name__ for c in v) for k, v in rec.classes.items() if v}
    if rec.kl:
        provides["kl"] = [f"{p.__name__}||{q.__name__}" for p, q, _ in rec.kl]
    if rec.entropy:
        provides["entropy"] = [t.__name__ for t, _ in rec.entropy]
    if rec.datasets:
        provides["datasets"] = sorted(rec.datasets)
    if rec.commands:
        provides["commands"] = list(rec.commands)
    module = rec.obj.__name__ if isinstance(rec.obj, ModuleType) else (rec.path or None)
    return PluginStatus(name=rec.name, version=_version(rec), source=rec.source, status=rec.status,
                        reason=rec.reason, provides=provides, module=module,
                        distribution=rec.distribution, hooks=list(rec.hooks))


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _disabled() -> frozenset[str]:
    return frozenset(_norm(n) for n in _split(os.environ.get(ENV_DISABLE, "")))


def _dist_name(dist: Any) -> str | None:
    """A distribution's normalized name (``dgmcore-families``).

    Taken from the ``*.dist-info`` folder name when importlib-metadata can, so
    discovery never parses METADATA files (that costs milliseconds per plugin).
    """
    if dist is None:
        return None
    name = getattr(dist, "_normalized_name", None)
    return (name if isinstance(name, str) else dist.name).replace("_", "-").lower()


def _version(rec: _Plugin) -> str | None:
    if rec.version is None:
        if rec.dist is not None:
            try:
                rec.version = rec.dist.version
            except Exception:  # noqa: BLE001 - unreadable METADATA: no version shown
                rec.version = None
        elif rec.obj is not None:
            rec.version = _version_of(rec.obj)
    return rec.version


def _version_of(obj: Any) -> str | None:
    """``__version__`` of the plugin module, else of its top-level package."""
    version = getattr(obj, "__version__", None)
    if version is None and isinstance(obj, ModuleType):
        top = sys.modules.get(obj.__name__.partition(".")[0])
        version = getattr(top, "__version__", None)
    return str(version) if version is not None else None


def _matches(rec: _Plugin, wanted: frozenset[str]) -> bool:
    return any(_norm(n) in wanted for n in (rec.name, *rec.aliases))


def _find(name: str) -> _Plugin:
    with _state.lock:
        if name in _state.plugins:
            return _state.plugins[name]
        hits = [r for r in _state.plugins.values() if _matches(r, frozenset([_norm(name)]))]
        if len(hits) == 1:
            return hits[0]
        known = sorted(_state.plugins)
    raise PluginError(f"no dgmcore plugin is named {name!r}; known plugins: {known or 'none'}"
                      if not hits else
                      f"{name!r} matches several dgmcore plugins: {[r.name for r in hits]}")


def _set_commands(name: str, commands: list[str]) -> None:
    """Record the ``dgm`` subcommands a plugin added (used by :mod:`dgmcore.cli`)."""
    with _state.lock:
        if name in _state.plugins:
            _state.plugins[name].commands = commands


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _flush_warnings() -> None:
    # Emitted only once the registry is consistent: a test suite that turns
    # warnings into errors must not leave discovery half done.
    with _state.lock:
        queue, _state.warn_queue = _state.warn_queue, []
    for message in queue:
        warnings.warn(message, PluginWarning, stacklevel=2)


# ----------------------------------------------------------------------------- names


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DGMError(f"unknown namespace kind {kind!r}; expected one of {KINDS}")


def _index() -> dict[str, dict[str, list[tuple[str, Any]]]]:
    cached = _state.index
    if cached is not None and cached[0] == _state.generation:
        return cached[1]
    with _state.lock:
        index: dict[str, dict[str, list[tuple[str, Any]]]] = {k: {} for k in KINDS}
        for rec in _ok():
            for kind, classes in rec.classes.items():
                for cls in classes:
                    index[kind].setdefault(cls.__name__, []).append((rec.name, cls))
        _state.index = (_state.generation, index)
    return index


def _providers(kind: str, name: str) -> list[tuple[str, Any]]:
    entries = _index()[kind].get(name, [])
    seen: dict[int, tuple[str, Any]] = {}
    for plugin, obj in entries:  # one class re-exported by two plugins is no conflict
        seen.setdefault(id(obj), (plugin, obj))
    return list(seen.values())


def _label(plugin: str, obj: Any) -> str:
    return f"{plugin!r} ({obj.__module__}.{obj.__qualname__})"


def _ambiguous_message(kind: str, name: str, providers: list[tuple[str, Any]]) -> str:
    both = " and ".join(_label(p, o) for p, o in providers)
    return (f"dgmcore.{kind}.{name} is ambiguous: it is provided by {both}. Pick one with "
            f"dgmcore.{kind}.get({name!r}, plugin={providers[0][0]!r}), or disable the other "
            f"with {ENV_DISABLE}={providers[-1][0]}")


def _conflicts() -> None:
    """Queue one warning per name that several plugins (or a plugin and the core) provide."""
    index = _index()
    for kind in KINDS:
        core = _state.namespaces.get(kind, {})
        for name in index[kind]:
            providers = _providers(kind, name)
            name_key = (kind, name, tuple(p for p, _ in providers))
            if name_key in _state.warned:
                continue
            if len(providers) > 1:
                _state.warned.add(name_key)
                _state.warn_queue.append(_ambiguous_message(kind, name, providers).replace(
                    "is ambiguous", "is ambiguous and raises AmbiguousNameError when used", 1))
            elif name in core and core[name] is not providers[0][1]:
                _state.warned.add(name_key)
                _state.warn_queue.append(
                    f"dgmcore plugin {providers[0][0]!r} registers {name!r}, a core name of "
                    f"dgmcore.{kind}; dgmcore.{kind}.{name} stays the core class, and "
                    f"dgmcore.{kind}.get({name!r}, plugin={providers[0][0]!r}) is the plugin's")
    seen: dict[Any, list[str]] = {}
    for rec in _ok():
        for p, q, _ in rec.kl:
            seen.setdefault(("kl", p, q), []).append(rec.name)
        for t, _ in rec.entropy:
            seen.setdefault(("entropy", t), []).append(rec.name)
        for dataset in rec.datasets:
            seen.setdefault(("dataset", dataset), []).append(rec.name)
    for key, owners in seen.items():
        wkey = (*key, tuple(owners))
        if len(owners) > 1 and wkey not in _state.warned:
            _state.warned.add(wkey)
            if key[0] == "kl":
                what = f"the KL pair ({key[1].__name__}, {key[2].__name__})"
            elif key[0] == "entropy":
                what = f"the entropy of {key[1].__name__}"
            else:
                what = f"the data set {key[1]!r}"
            _state.warn_queue.append(f"{what} is registered by several dgmcore plugins: "
                                     + " and ".join(repr(o) for o in owners))


def _unknown_message(kind: str, name: str) -> str:
    msg = f"dgmcore.{kind} has no {name!r}: no installed dgmcore plugin provides it"
    for other in KINDS:  # so "it is in dgmcore.losses" works before that import
        if other not in _state.namespaces:
            try:
                importlib.import_module(f"dgmcore.{other}")
            except ImportError:
                pass
    elsewhere = [k for k in KINDS if k != kind and (
        name in _index()[k] or name in _state.namespaces.get(k, {}))]
    package, hint_kind = _HINTS.get(name, (None, None))
    if elsewhere:
        return f"dgmcore.{kind} has no {name!r}; it is in dgmcore.{elsewhere[0]}"
    if package is not None:
        rec = next((r for r in _state.plugins.values()
                    if r.distribution and _norm(r.distribution) == package), None)
        if rec is not None and rec.status != "ok":
            return f"{msg}; {package} is installed but {rec.status}: {rec.reason}"
        if rec is not None:
            return (f"dgmcore.{kind} has no {name!r}: the installed {package} {_version(rec)} "
                    f"does not provide it; pip install --upgrade {package}")
        where = f" (it belongs in dgmcore.{hint_kind})" if hint_kind != kind else ""
        return f"{msg}. {name} comes with {package}{where}: pip install {package}"
    import difflib

    pool = set(_index()[kind]) | {n for n in _state.namespaces.get(kind, {})
                                  if not n.startswith("_")}
    close = difflib.get_close_matches(name, sorted(pool), 1)
    return msg + (f"; did you mean {close[0]!r}?" if close else "")


class UnknownAttributeError(DGMError, AttributeError):
    """``dgmcore.<kind>.Name`` where no core class and no plugin provides ``Name``.

    The attribute-access twin of :class:`~dgmcore.errors.UnknownNameError`
    (an ``ImportError``, raised by ``from dgmcore.<kind> import Name`` and by
    :func:`get`), with the same message: CPython cannot give one class both
    bases, and ``hasattr`` / ``getattr(ns, name, default)`` need an
    ``AttributeError``.
    """


def _in_import_from(frame: Any) -> bool:
    """Whether ``frame`` is executing ``from module import name`` (IMPORT_FROM)."""
    import opcode

    try:
        return frame.f_code.co_code[frame.f_lasti] == opcode.opmap["IMPORT_FROM"]
    except (IndexError, KeyError, AttributeError):
        return False


def _is_submodule(module_globals: Mapping[str, Any], name: str) -> bool:
    path = module_globals.get("__path__")
    if not path:
        return False
    from importlib.machinery import PathFinder

    return PathFinder.find_spec(f"{module_globals['__name__']}.{name}", list(path)) is not None
