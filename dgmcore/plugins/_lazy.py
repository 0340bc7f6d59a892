"""The lazy namespaces: module ``__getattr__``/``__dir__``/``get`` backed by the registry.

``dgmcore.distributions``, ``dgmcore.losses``, ``dgmcore.flows`` and
``dgmcore.models`` hold their core classes as ordinary globals and answer every
other public name from the plugins, discovering them on first use.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from dgmcore.errors import UnknownAttributeError, UnknownNameError
from dgmcore.plugins._index import check_kind
from dgmcore.plugins._records import state
from dgmcore.plugins._registry import get, names

__all__ = ["namespace"]


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
    ``get(name, plugin=None)`` is :func:`~dgmcore.plugins.get` for this namespace.
    """
    check_kind(kind)
    modname = module_globals["__name__"]
    state.namespaces[kind] = module_globals

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
