"""From what a DataLoader yields to the ``x_dict`` a loss reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from dgmcore.losses import Loss
from dgmcore_trainers.errors import FitConfigError

__all__ = ["batch_converter", "batch_size"]

Converter = Callable[[Any], dict[str, Any]]


def batch_converter(first: Any, loss: Loss, variables: Sequence[str] | None) -> Converter:
    """A function turning batches shaped like ``first`` into dicts of variables.

    A dict batch is used as it is; a tensor is the variable named by
    ``variables`` (or the loss's only input variable); a tuple or list is
    zipped with ``variables``.
    """
    if isinstance(first, Mapping):
        return dict
    names = list(variables) if variables is not None else sorted(loss.input_var)
    if isinstance(first, torch.Tensor):
        if len(names) != 1:
            raise FitConfigError(
                f"fit: the loader yields tensors but {loss} reads {sorted(loss.input_var)}; "
                "pass variables=[name] for the tensor, or yield dicts"
            )
        name = names[0]
        return lambda batch: {name: batch}
    if isinstance(first, (tuple, list)):
        if variables is None or len(names) != len(first):
            raise FitConfigError(
                f"fit: the loader yields {type(first).__name__}s of {len(first)} items; pass "
                f"variables=[...] with one name each (the loss {loss} reads {sorted(loss.input_var)})"
            )
        return lambda batch: dict(zip(names, batch, strict=True))
    raise FitConfigError(
        f"fit: the loader yields {type(first).__name__}; expected dicts of tensors, tensors, or "
        "tuples with variables=[...]"
    )


def batch_size(x_dict: Mapping[str, Any]) -> int:
    """The batch size of an ``x_dict`` (of its first tensor; 1 if it has none)."""
    for v in x_dict.values():
        if isinstance(v, torch.Tensor) and v.dim():
            return int(v.shape[0])
    return 1
