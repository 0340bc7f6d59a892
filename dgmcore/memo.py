"""The memo cache: each network runs once per objective evaluation.

In a VAE objective the encoder ``q(z|x)`` appears in several terms for the same
``x``. :meth:`Loss.eval <dgmcore.losses.Loss.eval>` opens a :func:`scope`;
inside it, :meth:`Distribution.get_params` with the same inputs returns the
stored result instead of running ``forward`` again.

Invariant: the key is the distribution, ``torch.is_grad_enabled()`` (a result
built under ``no_grad`` has no graph to reuse), and the identity and version
(``tensor._version``) of each input tensor. The scope holds the inputs alive, so
an ``id`` cannot be reused while it is open, and an in-place change bumps the
version, so nothing stale is returned. The store is dropped when the outermost
scope closes: nothing survives an optimizer step, and nothing leaks.

The same per-thread state also tracks how many sample dimensions are in front of
the batch dimension in the current evaluation (see :func:`sample_dims`).

Example:
    >>> import dgmcore
    >>> with dgmcore.memo.scope():
    ...     dgmcore.memo.is_active()
    True
    >>> with dgmcore.memo.disabled(), dgmcore.memo.scope():
    ...     dgmcore.memo.is_active()
    False
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["scope", "disabled", "is_active", "sample_dims", "extra_sample_dims"]


class _State(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # nesting level of open scopes
        self.store: dict[Any, Any] | None = None  # None when closed or disabled
        self.disabled = 0  # nesting level of disabled()
        self.sample_ndim = 0  # sample dims in front of the batch dim


_state = _State()


@contextmanager
def scope() -> Iterator[None]:
    """Open a memo scope (re-entrant: nested scopes share the outermost store)."""
    state = _state
    if state.depth == 0:
        state.store = None if state.disabled else {}
    state.depth += 1
    try:
        yield
    finally:
        state.depth -= 1
        if state.depth == 0:
            state.store = None
            state.sample_ndim = 0


@contextmanager
def disabled() -> Iterator[None]:
    """Switch memoization off inside the block (e.g. for dropout networks).

    Results are then recomputed for every term; values are unchanged.
    """
    state = _state
    saved = state.store
    state.disabled += 1
    state.store = None
    try:
        yield
    finally:
        state.disabled -= 1
        state.store = saved if not state.disabled else None


def is_active() -> bool:
    """Whether a memo store is open (a scope is open and memo is not disabled)."""
    return _state.store is not None


def lookup(key: Any) -> Any:
    """Return the stored value for ``key`` or ``None`` (internal, hot path)."""
    store = _state.store
    if store is None:
        return None
    entry = store.get(key)
    return None if entry is None else entry[0]


def put(key: Any, value: Any, keep_alive: Any) -> None:
    """Store ``value`` under ``key``; ``keep_alive`` holds the input tensors alive."""
    store = _state.store
    if store is not None:
        store[key] = (value, keep_alive)


def sample_dims() -> int:
    """Number of sample dimensions in front of the batch dimension right now."""
    return _state.sample_ndim


@contextmanager
def extra_sample_dims(n: int) -> Iterator[None]:
    """Declare ``n`` more sample dimensions in front of the batch dimension.

    Opened by :class:`~dgmcore.losses.Expectation` (and sampling with a
    ``sample_shape``) around the work done on the drawn samples, so that
    distributions know which leading dimensions are sample and batch dimensions.
    """
    state = _state
    state.sample_ndim += n
    try:
        yield
    finally:
        state.sample_ndim -= n
