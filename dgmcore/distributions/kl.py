"""The analytic KL divergence and entropy registries.

Plugins register pairs through the ``register_kl`` hook as ``(type_p, type_q,
fn)`` and entropies through ``register_entropy`` as ``(type, fn)``. A type is a
dgmcore :class:`~dgmcore.distributions.Distribution` subclass or a
``torch.distributions.Distribution`` subclass; ``fn`` receives the two
``torch.distributions`` objects built from the current parameters (for KL) or
the one object (for entropy) and returns elementwise values, before features
are summed.

As in ``torch.distributions.kl``, the most specific registered pair wins: the
candidates are ranked by the positions of ``type_p`` and ``type_q`` in the
method resolution orders of the two distributions; when two candidates are
each more specific in one of the types, the first type decides and a
:class:`~dgmcore.errors.DGMWarning` names both. Pairs registered by plugins
come first; every pair ``torch.distributions.kl`` knows is the fallback.
Lookups are cached per type pair and dropped when registrations change.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch.distributions import kl as torch_kl

from dgmcore.errors import DGMWarning

if TYPE_CHECKING:
    from dgmcore.distributions._base import Distribution

__all__ = ["find_kl", "kl_divergence", "entropy"]

KLFn = Callable[[Any, Any], torch.Tensor]

_cache: dict[tuple[type, type, type, type], KLFn | None] = {}
_entropy_cache: dict[tuple[type, type], Callable[[Any], torch.Tensor] | None] = {}
_generation = -1
_MISSING: Any = object()  # Any: a cache lookup's default, never returned


def _plugins_state() -> tuple[list[tuple[type, type, KLFn]], list[tuple[type, Any]]]:
    global _generation
    from dgmcore import plugins

    gen = plugins.generation()
    if gen != _generation:
        _cache.clear()
        _entropy_cache.clear()
        _generation = plugins.generation()
    return plugins.kl_pairs(), plugins.entropy_fns()


def _rank(t: type, mro: tuple[type, ...]) -> int | None:
    try:
        return mro.index(t)
    except ValueError:
        return None


def _best(pairs: list[tuple[type, type, KLFn]], a: type, b: type) -> KLFn | None:
    """The pair most specific for ``(a, b)``; ties broken in favour of the first type.

    As ``torch.distributions.kl``, a :class:`~dgmcore.errors.DGMWarning` says
    when no candidate is at least as specific as every other in both types
    (say ``(A, Base)`` and ``(Base, B)`` for ``(A, B)``): register the exact
    pair to choose.
    """
    mro_a, mro_b = a.__mro__, b.__mro__
    ranked: list[tuple[tuple[int, int], type, type, KLFn]] = []
    for tp, tq, fn in pairs:
        ra, rb = _rank(tp, mro_a), _rank(tq, mro_b)
        if ra is not None and rb is not None:
            ranked.append(((ra, rb), tp, tq, fn))
    if not ranked:
        return None
    ranked.sort(key=lambda r: r[0])
    (ra, rb), tp, tq, fn = ranked[0]
    rivals = [r for r in ranked[1:] if r[0][1] < rb and r[3] is not fn]
    if rivals:
        other = rivals[0]
        warnings.warn(
            f"ambiguous analytic KL for ({a.__name__}, {b.__name__}): the pairs "
            f"({tp.__name__}, {tq.__name__}) and ({other[1].__name__}, {other[2].__name__}) both "
            f"match and neither is more specific in both; using ({tp.__name__}, {tq.__name__}). "
            f"Register ({a.__name__}, {b.__name__}) through register_kl to choose.",
            DGMWarning,
            stacklevel=4,
        )
    return fn


def find_kl(p: Distribution, q: Distribution, dp: Any, dq: Any) -> KLFn | None:
    """The plugin-registered KL function for ``p`` and ``q``, or None.

    ``dp`` and ``dq`` are their ``torch.distributions`` objects.
    """
    from dgmcore import plugins

    key = (type(p.unwrapped), type(q.unwrapped), type(dp), type(dq))
    if torch.compiler.is_compiling():
        # traced: the choice is made once, outside the graph, and read back by id, so that
        # the compiled code guards on one function and the registrations' generation
        # instead of on every plugin record and method resolution order it would read
        return _CHOSEN[_choice(plugins.generation(), *key)]
    # hot path: an answer cached since the registrations last changed is still right
    if plugins.generation() == _generation:
        fn = _cache.get(key, _MISSING)
        if fn is not _MISSING:
            return fn
    return _lookup(key)


def _lookup(key: tuple[type, type, type, type]) -> KLFn | None:
    pairs, _ = _plugins_state()
    if key not in _cache:
        _cache[key] = _best(pairs, key[0], key[1]) or _best(pairs, key[2], key[3])
    return _cache[key]


#: the functions chosen while tracing, by id (a dict that only grows: no guard on its size)
_CHOSEN: dict[int, KLFn | None] = {}


@torch.compiler.assume_constant_result
def _choice(generation: int, a: type, b: type, da: type, db: type) -> int:
    """The id of :func:`_lookup`'s answer, run eagerly while a graph is traced."""
    fn = _lookup((a, b, da, db))
    _CHOSEN[id(fn)] = fn
    return id(fn)


def kl_divergence(p: Distribution, q: Distribution, dp: Any, dq: Any) -> torch.Tensor | None:
    """Elementwise analytic KL[p||q], or None when no pair is registered.

    Registered pairs are tried first, then ``torch.distributions.kl_divergence``.
    """
    fn = find_kl(p, q, dp, dq)
    if fn is not None:
        return fn(dp, dq)
    try:
        return torch_kl.kl_divergence(dp, dq)
    except NotImplementedError:
        return None


def entropy(p: Distribution, dp: Any) -> torch.Tensor:
    """Elementwise entropy of ``dp``: a registered function, else ``dp.entropy()``."""
    _, fns = _plugins_state()
    key = (type(p.unwrapped), type(dp))
    if key not in _entropy_cache:
        chosen = None
        for t in (key[0], key[1]):
            ranks = [(_rank(tt, t.__mro__), fn) for tt, fn in fns]
            ranked = [(r, fn) for r, fn in ranks if r is not None]
            if ranked:
                chosen = min(ranked, key=lambda rf: rf[0])[1]
                break
        _entropy_cache[key] = chosen
    fn = _entropy_cache[key]
    return dp.entropy() if fn is None else fn(dp)
