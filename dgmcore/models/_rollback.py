"""What a failed call of :class:`~dgmcore.models.Model` must leave as it was.

A training step changes the model in two places before it knows whether it
succeeds: the forward updates buffers (BatchNorm's running statistics, an EMA
codebook), and the optimizer step updates parameters and optimizer state. The
step is rejected before the optimizer step, so only the buffers need a copy:
:class:`BufferSnapshot` takes one before each step (the persistent buffers,
those ``state_dict`` holds; none in most VAEs, a few small vectors per
normalisation layer otherwise) and writes it back when the step fails.

:func:`load_checkpoint` checks a checkpoint against the model before anything
is copied, and undoes a load that torch still refuses half way.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dgmcore.errors import DGMError, InputTypeError, ShapeError

__all__ = ["BufferSnapshot", "load_checkpoint"]


class BufferSnapshot:
    """Copies of the persistent buffers of some modules, taken with :meth:`take`.

    The slots (module, buffer name) are read once, at construction; a buffer
    replaced by a new tensor (``module.running_mean = ...``) is restored by
    assignment, one updated in place by an in-place copy, so that references
    to it elsewhere stay valid.
    """

    def __init__(self, modules: Iterable[nn.Module]) -> None:
        self._slots: list[tuple[nn.Module, str]] = []
        for m in modules:
            persistent = m.state_dict(keep_vars=True)  # direct entries have no dot
            self._slots += [
                (m, n) for n, b in m.named_buffers(recurse=False) if b is not None and n in persistent
            ]

    def take(self) -> list[tuple[nn.Module, str, torch.Tensor, torch.Tensor]]:
        """(module, name, the buffer, a copy of it) for every slot; ``[]`` when there are none."""
        out = []
        for m, n in self._slots:
            b = m._buffers.get(n)  # the buffer itself: an attribute may read as a view of it
            if isinstance(b, torch.Tensor):
                out.append((m, n, b, b.detach().clone()))
        return out

    @staticmethod
    def restore(saved: list[tuple[nn.Module, str, torch.Tensor, torch.Tensor]]) -> None:
        """Write the copies back."""
        with torch.no_grad():
            for m, n, original, value in saved:
                current = m._buffers.get(n)
                if current is original and current.shape == value.shape:
                    current.copy_(value)
                else:
                    setattr(m, n, value)


def load_checkpoint(modules: nn.Module, optimizer: torch.optim.Optimizer, state: Any) -> None:
    """Load ``state`` (what ``Model.state_dict`` returned) into ``modules`` and ``optimizer``.

    Raises:
        InputTypeError: ``state`` is not such a dict, or its keys or its
            optimizer's parameter groups do not match the model's.
        ShapeError: a tensor's shape differs from the model's.
        DGMError: torch refused the checkpoint for another reason; the model
            is restored as it was before the call.
    """
    if not isinstance(state, Mapping):
        raise InputTypeError(f"Model.load_state_dict needs a dict, got {type(state).__name__}")
    missing = {"distributions", "optimizer"} - set(state)
    if missing:
        raise InputTypeError(
            f"Model.load_state_dict needs the keys 'distributions' and 'optimizer', "
            f"missing {sorted(missing)}"
        )
    _check_modules(modules.state_dict(), state["distributions"])
    _check_optimizer(optimizer.state_dict(), state["optimizer"])
    backup_modules = {k: v.detach().clone() for k, v in modules.state_dict().items()}
    backup_optimizer = copy.deepcopy(optimizer.state_dict())
    try:
        modules.load_state_dict(state["distributions"])
        optimizer.load_state_dict(state["optimizer"])
    except Exception as err:
        modules.load_state_dict(backup_modules)
        optimizer.load_state_dict(backup_optimizer)
        raise DGMError(
            f"Model.load_state_dict: the checkpoint does not fit the model ({type(err).__name__}: "
            f"{err}); nothing was loaded"
        ) from err


def _check_modules(own: Mapping[str, torch.Tensor], given: Any) -> None:
    if not isinstance(given, Mapping):
        raise InputTypeError(
            f"Model.load_state_dict: 'distributions' must be a state dict, got {type(given).__name__}"
        )
    missing = [k for k in own if k not in given]
    unexpected = [k for k in given if k not in own]
    if missing or unexpected:
        raise InputTypeError(
            "Model.load_state_dict: the checkpoint's networks do not match the model's: "
            f"missing {missing}, unexpected {unexpected}; nothing was loaded"
        )
    for k, mine in own.items():
        theirs = given[k]
        if not isinstance(theirs, torch.Tensor):
            raise InputTypeError(
                f"Model.load_state_dict: {k!r} must be a tensor, got {type(theirs).__name__}; "
                "nothing was loaded"
            )
        if theirs.shape != mine.shape:
            raise ShapeError(
                f"Model.load_state_dict: {k!r} has shape {tuple(theirs.shape)} in the checkpoint and "
                f"{tuple(mine.shape)} in the model; nothing was loaded"
            )


def _check_optimizer(own: Mapping[str, Any], given: Any) -> None:
    if not isinstance(given, Mapping) or "param_groups" not in given or "state" not in given:
        raise InputTypeError(
            "Model.load_state_dict: 'optimizer' must be an optimizer's state dict (with 'state' "
            "and 'param_groups'); nothing was loaded"
        )
    mine = [len(g["params"]) for g in own["param_groups"]]
    try:
        theirs = [len(g["params"]) for g in given["param_groups"]]
    except (TypeError, KeyError):
        theirs = None
    if theirs != mine:
        raise InputTypeError(
            f"Model.load_state_dict: the checkpoint's optimizer has parameter groups of sizes "
            f"{theirs}, the model's {mine}; nothing was loaded"
        )
