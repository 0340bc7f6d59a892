"""Argument checks of :class:`~dgmcore.models.Model`: each bad argument is a typed error naming it."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dgmcore.errors import InputTypeError, ParameterError

__all__ = ["check_clip", "check_eval_kwargs", "make_optimizer", "module_list"]

_EVAL_KWARGS = ("return_dict", "return_all")


def module_list(distributions: Any) -> list[nn.Module]:
    """The distributions to train, as a list: one distribution or an iterable of them."""
    if isinstance(distributions, nn.Module):
        return [distributions]
    if distributions is None or isinstance(distributions, (str, bytes, Mapping)):
        raise InputTypeError(
            "Model needs the distributions to train (one or a list of dgmcore distributions), "
            f"got {type(distributions).__name__}"
        )
    try:
        dists = list(distributions)
    except TypeError:
        raise InputTypeError(
            "Model needs the distributions to train (one or a list of dgmcore distributions), "
            f"got {type(distributions).__name__}"
        ) from None
    for d in dists:
        if not isinstance(d, nn.Module):
            raise InputTypeError(
                f"Model: distributions must be dgmcore distributions (nn.Modules), got {type(d).__name__}"
            )
    return dists


def check_clip(value: Any, name: str) -> float | None:
    """``None``, or a positive number (``inf`` allowed: no clipping, but the norm is checked).

    A clip of 0 would freeze training and a negative one reverse it: torch
    multiplies the gradient by the factor it is given.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"Model: {name} must be a positive number or None, got {value!r}")
    if not float(value) > 0:  # also NaN
        raise ParameterError(
            f"Model: {name} must be positive, got {value!r} (a clip <= 0 freezes the gradients or "
            "reverses them)"
        )
    return float(value)


def make_optimizer(
    optimizer: Any, params: Iterable[nn.Parameter], optimizer_params: Any
) -> torch.optim.Optimizer:
    """``optimizer(params, **optimizer_params)``; torch's complaints become typed errors."""
    if isinstance(optimizer, torch.optim.Optimizer):
        raise InputTypeError(
            f"Model: optimizer must be an optimizer class such as torch.optim.Adam, got an instance of "
            f"{type(optimizer).__name__}; pass the class and its keywords in optimizer_params"
        )
    if not callable(optimizer):
        raise InputTypeError(
            f"Model: optimizer must be an optimizer class such as torch.optim.Adam, got {optimizer!r}"
        )
    if optimizer_params is not None and not isinstance(optimizer_params, Mapping):
        raise InputTypeError(
            "Model: optimizer_params must be a dict of the optimizer's keywords (e.g. {'lr': 1e-3}), "
            f"got {type(optimizer_params).__name__}"
        )
    kwargs = dict(optimizer_params or {})
    name = getattr(optimizer, "__name__", repr(optimizer))
    try:
        opt = optimizer(list(params), **kwargs)
    except TypeError as err:
        raise InputTypeError(f"Model: {name}(params, **{kwargs}) raised TypeError: {err}") from err
    except ValueError as err:
        raise ParameterError(f"Model: {name}(params, **{kwargs}) raised ValueError: {err}") from err
    if not isinstance(opt, torch.optim.Optimizer):
        raise InputTypeError(
            f"Model: optimizer {name} built a {type(opt).__name__}, not a torch.optim.Optimizer"
        )
    return opt


def check_eval_kwargs(kwargs: Mapping[str, Any], where: str, return_dict: bool) -> None:
    """The keywords a method passes on to ``Loss.eval``: only ``return_dict`` / ``return_all``."""
    unknown = [k for k in kwargs if k not in _EVAL_KWARGS]
    if unknown:
        raise InputTypeError(
            f"{where} got unexpected keyword argument(s) {unknown}; it passes only "
            f"{list(_EVAL_KWARGS) if return_dict else ['return_all']} on to loss.eval (values "
            "of variables and parameters go in the x_dict)"
        )
    if not return_dict and kwargs.get("return_dict"):
        raise InputTypeError(
            f"{where} returns the loss only and takes no return_dict=True; to see the "
            "variables drawn, call model.test(x_dict, return_dict=True) or loss.eval"
        )

