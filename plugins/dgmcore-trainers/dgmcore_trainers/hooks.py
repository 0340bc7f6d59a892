"""Calling the lifecycle hooks: the plugins' implementations, then the ``callbacks`` of ``fit``."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from dgmcore import plugins
from dgmcore_trainers.errors import FitConfigError

__all__ = ["HOOKS", "Hooks"]

HOOKS = ("on_fit_start", "on_train_batch_end", "on_validation_end", "on_epoch_end", "on_fit_end")


class Hooks:
    """The hooks of one run: bound callback methods are looked up once, at the start."""

    def __init__(self, callbacks: Sequence[Any]) -> None:
        if not isinstance(callbacks, Sequence) or isinstance(callbacks, (str, bytes)):
            raise FitConfigError(
                f"fit: callbacks must be a sequence of objects, got {type(callbacks).__name__}")
        for cb in callbacks:
            if not any(callable(getattr(cb, name, None)) for name in HOOKS):
                raise FitConfigError(
                    f"fit: the callback {cb!r} has none of the hook methods {list(HOOKS)}"
                )
        self.methods = {name: [_accepting(m) for cb in callbacks
                               if callable(m := getattr(cb, name, None))] for name in HOOKS}

    def call(self, name: str, **kwargs: Any) -> None:
        """Run hook ``name`` on every plugin (isolated: a raising plugin is marked broken)
        and then on every callback (whose exceptions propagate and end the run)."""
        plugins.call_hook(name, **kwargs)
        for method, names in self.methods[name]:
            method(**(kwargs if names is None else {k: v for k, v in kwargs.items() if k in names}))


def _accepting(method: Any) -> tuple[Any, frozenset[str] | None]:
    """A method and the argument names it takes (None: it takes ``**kwargs``), as pluggy does."""
    params = inspect.signature(method).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return method, None
    return method, frozenset(p.name for p in params)
