"""Checks of the arguments every distribution and loss takes: variable lists, sample shapes, x_dict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from dgmcore.errors import InputTypeError

__all__ = ["XDict", "check_x_dict", "sample_shape_of", "var_list"]

XDict = dict[str, Any]


def var_list(names: str | Iterable[str] | None, what: str) -> tuple[str, ...]:
    """Normalise a variable list given as a name or a sequence of names."""
    if names is None:
        return ()
    if isinstance(names, str):
        return (names,)
    try:
        out = tuple(names)
    except TypeError:
        raise InputTypeError(
            f"{what} must be a variable name or a list of names, got {type(names).__name__}"
        ) from None
    for n in out:
        if not isinstance(n, str) or not n:
            raise InputTypeError(f"{what} must contain non-empty strings, got {n!r} in {out!r}")
    if len(set(out)) != len(out):
        raise InputTypeError(f"{what} lists a variable twice: {list(out)}")
    return out


def sample_shape_of(sample_shape: Iterable[int] | int, owner: str) -> torch.Size:
    """Validate a ``sample_shape`` argument: a tuple of positive ints, or one int."""
    if isinstance(sample_shape, bool) or (
        not isinstance(sample_shape, int) and any(isinstance(s, bool) for s in _items(sample_shape))
    ):
        raise InputTypeError(f"{owner}: sample_shape must be a tuple of ints, got {sample_shape!r}")
    if isinstance(sample_shape, int):
        sample_shape = (sample_shape,)
    try:
        shape = torch.Size(sample_shape)
    except TypeError:
        raise InputTypeError(
            f"{owner}: sample_shape must be a tuple of ints, got {sample_shape!r}"
        ) from None
    if any(s < 1 for s in shape):
        raise InputTypeError(f"{owner}: sample_shape must be positive, got {tuple(shape)}")
    return shape


def _items(value: Any) -> tuple[Any, ...]:
    try:
        return tuple(value)
    except TypeError:
        return ()


def check_x_dict(x_dict: Any, owner: Any) -> XDict:
    """Return ``x_dict`` as a dict, or raise a clear error for anything else.

    ``None`` means no inputs. A bare tensor, list, string or array is never
    converted silently: the error names the variables ``owner`` expects.
    """
    if type(x_dict) is dict:
        return x_dict
    if x_dict is None:
        return {}
    if isinstance(x_dict, Mapping):
        return dict(x_dict)
    needs = list(getattr(owner, "input_var", ()))
    text = getattr(owner, "prob_text", None) or str(owner)
    raise InputTypeError(
        f"{text} expects x_dict to be a dict mapping variable names to tensors "
        f"(variables it needs: {needs}), got {type(x_dict).__name__}. "
        f"Write e.g. {{{', '.join(repr(v) + ': ...' for v in needs) or '}'}}}."
        if needs
        else f"{text} expects x_dict to be a dict mapping variable names to tensors, "
        f"got {type(x_dict).__name__}"
    )
