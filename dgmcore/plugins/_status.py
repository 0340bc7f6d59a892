"""What the registry knows about one plugin, and how ``dgm plugins`` shows it.

:class:`Record` is the registry's mutable entry for a plugin (its source, the
loaded object, its status and everything it registered); :class:`PluginStatus`
is the frozen, public view of it. Versions are read lazily: asking
importlib-metadata for a distribution's version parses its METADATA file, which
discovery must not pay for.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

__all__ = ["PluginStatus", "Record", "dist_name", "module_version", "status_of", "version_of"]


@dataclass(frozen=True)
class PluginStatus:
    """What ``dgm plugins`` shows about one plugin.

    Attributes:
        name: the plugin's name: its distribution's name for an entry point
            (``"dgmcore-families"``), the import path for ``DGMCORE_PLUGINS``,
            the ``name=`` given to :func:`~dgmcore.plugins.register`.
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
class Record:
    """The registry's entry for one plugin; only ``ok`` records feed the namespaces."""

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
    demos: dict[str, Callable[..., Any]] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)


def status_of(rec: Record) -> PluginStatus:
    """The public :class:`PluginStatus` of a record."""
    provides = {k: sorted(c.__name__ for c in v) for k, v in rec.classes.items() if v}
    if rec.kl:
        provides["kl"] = [f"{p.__name__}||{q.__name__}" for p, q, _ in rec.kl]
    if rec.entropy:
        provides["entropy"] = [t.__name__ for t, _ in rec.entropy]
    if rec.datasets:
        provides["datasets"] = sorted(rec.datasets)
    if rec.demos:
        provides["demos"] = sorted(rec.demos)
    if rec.commands:
        provides["commands"] = list(rec.commands)
    module = rec.obj.__name__ if isinstance(rec.obj, ModuleType) else (rec.path or None)
    return PluginStatus(name=rec.name, version=version_of(rec), source=rec.source, status=rec.status,
                        reason=rec.reason, provides=provides, module=module,
                        distribution=rec.distribution, hooks=list(rec.hooks))


def dist_name(dist: Any) -> str | None:
    """A distribution's normalized name (``dgmcore-families``).

    Taken from the ``*.dist-info`` folder name when importlib-metadata can, so
    discovery never parses METADATA files (that costs milliseconds per plugin).
    """
    if dist is None:
        return None
    name = getattr(dist, "_normalized_name", None)
    return (name if isinstance(name, str) else dist.name).replace("_", "-").lower()


def version_of(rec: Record) -> str | None:
    """The plugin's version, read (once) from its distribution or its module."""
    if rec.version is None:
        if rec.dist is not None:
            try:
                rec.version = rec.dist.version
            except Exception:  # noqa: BLE001 - unreadable METADATA: no version shown
                rec.version = None
        elif rec.obj is not None:
            rec.version = module_version(rec.obj)
    return rec.version


def module_version(obj: Any) -> str | None:
    """``__version__`` of the plugin module, else of its top-level package."""
    version = getattr(obj, "__version__", None)
    if version is None and isinstance(obj, ModuleType):
        top = sys.modules.get(obj.__name__.partition(".")[0])
        version = getattr(top, "__version__", None)
    return str(version) if version is not None else None
