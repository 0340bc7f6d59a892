"""The memo cache: each network runs once per objective evaluation.

In a VAE objective the encoder ``q(z|x)`` appears in several terms for the same
``x``. :meth:`Loss.eval <dgmcore.losses.Loss.eval>` opens a :func:`scope`;
inside it, :func:`cached` returns the result stored for the same owner and the
same inputs instead of building it again. Every distribution that memoizes
(``ParametricDistribution``, ``Deterministic``, a plugin's own) goes through
:func:`cached`: this module is the only one that reads or writes the store.

Invariant: the key is the owner, ``torch.is_grad_enabled()`` (a result built
under ``no_grad`` has no graph to reuse), and the identity and version
(``tensor._version``) of each input tensor; while ``torch.compile`` traces, the
tensors themselves (which hash by identity), so the store stays local to the
traced graph. The scope holds the inputs alive, so an ``id`` cannot be reused
while it is open, and an in-place change bumps the version, so nothing stale is
returned. The store is dropped when the outermost scope closes: nothing
survives an optimizer step, and nothing leaks.

Example:
    >>> import torch
    >>> import dgmcore
    >>> calls = []
    >>> def build():
    ...     calls.append(1)
    ...     return "result"
    >>> x = torch.ones(2)
    >>> with dgmcore.memo.scope():
    ...     dgmcore.memo.cached("owner", [x], build), dgmcore.memo.cached("owner", [x], build)
    ('result', 'result')
    >>> len(calls)  # built once in the scope
    1
    >>> with dgmcore.memo.disabled(), dgmcore.memo.scope():
    ...     dgmcore.memo.is_active()
    False
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import torch

__all__ = ["cached", "disabled", "is_active", "is_open", "scope"]

T = TypeVar("T")


class _State(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # nesting level of open scopes
        self.store: dict[Any, Any] | None = None  # None when closed or disabled
        self.disabled = 0  # nesting level of disabled()


_state = _State()


class _Scope:
    """What :func:`scope` returns (a class: entering it costs a third of a generator's)."""

    __slots__ = ("_store", "_saved")

    def __init__(self, store: dict[Any, Any] | None) -> None:
        self._store = store

    def __enter__(self) -> None:
        state = _state
        self._saved = state.store
        if self._store is not None:
            state.store = None if state.disabled else self._store
        elif state.depth == 0:
            state.store = None if state.disabled else {}
        state.depth += 1

    def __exit__(self, *exc: object) -> None:
        state = _state
        state.depth -= 1
        state.store = self._saved if state.depth else None


class _Disabled:
    """What :func:`disabled` returns."""

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        state = _state
        self._saved = state.store
        state.disabled += 1
        state.store = None

    def __exit__(self, *exc: object) -> None:
        state = _state
        state.disabled -= 1
        state.store = self._saved if not state.disabled else None


def scope(store: dict[Any, Any] | None = None) -> AbstractContextManager[None]:
    """Open a memo scope (re-entrant: nested scopes share the outermost store).

    Args:
        store: a dict to keep results in for the duration of this scope only,
            in place of the shared one (restored afterwards). ``loss.compile()``
            passes one that lives only while the graph is traced.
    """
    return _Scope(store)


def disabled() -> AbstractContextManager[None]:
    """Switch memoization off inside the block (e.g. for dropout networks).

    Results are then recomputed for every term; values are unchanged.
    """
    return _Disabled()


def is_active() -> bool:
    """Whether a memo store is open (a scope is open and memo is not disabled)."""
    return _state.store is not None


def is_open() -> bool:
    """Whether a scope is open (memoized or not): results may be reused until it closes."""
    return _state.depth > 0


def cached(owner: Any, inputs: Sequence[Any], build: Callable[[], T]) -> T:
    """``build()``, or the result stored for ``owner`` and these ``inputs`` in the open scope.

    The one keyed lookup of the memo. Outside a scope (or when disabled) it
    calls ``build()``. ``owner`` is any hashable object (a distribution: its
    ``memo=False`` switch is honoured); ``inputs`` are the tensors the result
    depends on. An input that is not a tensor is never keyed: ``build()`` runs
    and reports it.
    """
    store = _state.store
    if store is None or not getattr(owner, "memo", True):
        return build()
    try:
        if torch.compiler.is_compiling():
            key = (owner, torch.is_grad_enabled(), *inputs)  # tensors hash by identity
        else:
            key = (owner, torch.is_grad_enabled(), *[(id(t), t._version) for t in inputs])
    except AttributeError:  # not a tensor: no identity to key on
        return build()
    entry = store.get(key)
    if entry is None:
        value = build()
        store[key] = (value, inputs)  # the inputs are kept alive with the entry
        return value
    return entry[0]  # type: ignore[no-any-return]
