"""Checks of the arguments every distribution and loss takes (variable lists, sample shapes, x_dict,
batch_n, feature_dims), and the feature sum the Distribution template applies with them."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from dgmcore.errors import InputTypeError, ShapeError

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


def owner_text(owner: Any) -> str:
    """How an error names ``owner``: a string as given, else its formula (``prob_text``)."""
    if isinstance(owner, str):
        return owner
    return getattr(owner, "prob_text", None) or str(owner)


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
    text = owner_text(owner)
    raise InputTypeError(
        f"{text} expects x_dict to be a dict mapping variable names to tensors "
        f"(variables it needs: {needs}), got {type(x_dict).__name__}. "
        f"Write e.g. {{{', '.join(repr(v) + ': ...' for v in needs) or '}'}}}."
        if needs
        else f"{text} expects x_dict to be a dict mapping variable names to tensors, "
        f"got {type(x_dict).__name__}"
    )


def check_features_shape(features_shape: Any) -> torch.Size:
    """A checked ``features_shape``: a sequence of positive ints."""
    try:
        shape = torch.Size(features_shape)
    except TypeError:
        raise ShapeError(f"features_shape must be a sequence of ints, got {features_shape!r}") from None
    if any(s < 1 for s in shape):
        raise ShapeError(f"features_shape must be positive sizes, got {tuple(shape)}")
    return shape


def check_batch_n(batch_n: Any, owner: Any) -> None:
    """Raise unless ``batch_n`` (given, not ``None``) is a positive int.

    ``owner`` names the caller in the error: a string, or an object whose
    ``prob_text`` does (read only when raising).
    """
    if type(batch_n) is int and batch_n >= 1:  # the common case, without the ABC check
        return
    if not isinstance(batch_n, numbers.Integral) or isinstance(batch_n, bool) or batch_n < 1:
        raise InputTypeError(f"{owner_text(owner)}: batch_n must be a positive int, got {batch_n!r}")


def feature_dims_of(feature_dims: Any, ndim: int, n: int, owner: str) -> tuple[int, ...]:
    """``feature_dims`` as negative dims, each one of the ``n`` trailing feature dims of ``ndim``.

    Raises:
        InputTypeError: not a list of ints.
        ShapeError: a dim that is not a feature dim (summing it would sum the
            batch), or a dim named twice.
    """
    if isinstance(feature_dims, numbers.Integral) and not isinstance(feature_dims, bool):
        feature_dims = (int(feature_dims),)
    try:
        items = tuple(feature_dims)
    except TypeError:
        items = (None,)
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in items):
        raise InputTypeError(f"{owner}: feature_dims must be a list of ints, got {feature_dims!r}")
    dims = tuple(int(d) - ndim if d >= 0 else int(d) for d in items)
    if any(not -n <= d < 0 for d in dims):
        raise ShapeError(
            f"{owner}: feature_dims {list(feature_dims)} must name feature dimensions; "
            f"of the {ndim} dimensions of its values the features are the last {n} "
            f"({list(range(ndim - n, ndim))}); summing the others would sum over the batch"
        )
    if len(set(dims)) != len(dims):
        raise ShapeError(f"{owner}: feature_dims {list(feature_dims)} names a dimension twice")
    return dims


_NO_SAMPLE_DIMS = torch.Size()


def as_sample_shape(sample_shape: Any, owner: Any) -> torch.Size:
    """``sample_shape`` as a ``torch.Size`` (an int ``n`` means ``(n,)``), fast for the usual forms."""
    if sample_shape == ():
        return _NO_SAMPLE_DIMS
    if isinstance(sample_shape, torch.Size) and (not sample_shape or min(sample_shape) >= 1):
        return sample_shape
    return sample_shape_of(sample_shape, owner_text(owner))


def reduce_features(
    values: torch.Tensor, n: int, sum_features: bool, feature_dims: Any, owner: Any
) -> torch.Tensor:
    """Sum the ``n`` trailing feature dims of ``values`` (or ``feature_dims`` among them)."""
    if not sum_features:
        return values
    if feature_dims is not None:
        dims = feature_dims_of(feature_dims, values.dim(), n, owner_text(owner))
        return values.sum(dim=dims) if dims else values
    if n == 1:  # the common case: an int dim parses faster than a tuple
        return values.sum(-1)
    if n:
        return values.sum(dim=tuple(range(-n, 0)))
    return values
