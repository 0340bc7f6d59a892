"""Optional faster views of a required method, by plain inheritance (no class-creation hook).

A class may give a faster view of a method it must implement: a density
computed as its negative (``neg_log_prob_value``, ``_signed_log_density``,
``Loss._eval_signed``). The view is used only where it belongs to the class's
own required method, so a subclass that overrides the required method alone is
never bypassed by a view its parent wrote for another one.
"""

from __future__ import annotations

__all__ = ["fast_view"]


def _owner(cls: type, name: str) -> type:
    """The class in ``cls``'s MRO that defines ``name``."""
    return next(k for k in cls.__mro__ if name in k.__dict__)


def fast_view(cls: type, fast: str, slow: str, base: type) -> bool:
    """Whether ``cls``'s optional ``fast`` view may stand for its required ``slow`` method.

    Only when ``fast`` is overridden (not ``base``'s default) at or below the
    class that defines ``slow``.
    """
    owner = _owner(cls, fast)
    return owner is not base and issubclass(owner, _owner(cls, slow))


def overrides(cls: type, name: str, base: type) -> bool:
    """Whether ``cls`` (or a class between it and ``base``) defines ``name``."""
    return _owner(cls, name) is not base
