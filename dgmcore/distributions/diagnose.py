"""Diagnosis on the failure paths of :class:`ParametricDistribution` (never on the hot path)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from dgmcore.distributions.base import XDict
from dgmcore.errors import DGMError, InputTypeError, ParameterError, ShapeError

if TYPE_CHECKING:
    from dgmcore.distributions.parametric import ParametricDistribution

__all__ = ["error_class", "check_tensors", "lead_error", "check_value_batch"]


def error_class(err: Exception) -> type[DGMError]:
    """ShapeError for torch's broadcasting failures, ParameterError for the rest."""
    msg = str(err)  # torch's constraint messages mention shapes too: test for them first
    if "constraint" not in msg and ("size" in msg or "shape" in msg):
        return ShapeError
    return ParameterError


def check_tensors(p: ParametricDistribution, x_dict: XDict, names: Sequence[str]) -> None:
    """Raise :class:`InputTypeError` for a value in ``x_dict`` that is not a tensor (failure path)."""
    bad = {
        v: type(x_dict[v]).__name__
        for v in names
        if v in x_dict and not isinstance(x_dict[v], (torch.Tensor, numbers.Number))
    }
    if bad:
        v, kind = next(iter(bad.items()))
        raise InputTypeError(
            f"{p.prob_text}: the value of {v!r} must be a torch.Tensor, got {kind}"
            + (" (convert it with torch.as_tensor)" if kind == "ndarray" else "")
        )


def lead_error(p: ParametricDistribution, dist: torch.distributions.Distribution, n: int) -> ShapeError:
    """The error for parameters that leave no batch dimension in front of the features."""
    fs = tuple(p._features_shape)
    how = (
        f"its features_shape was inferred as {fs} on first use (from inputs that carried "
        f"sample dimensions outside a loss?); declare features_shape=... at construction"
        if p._inferred
        else f"its features_shape is {fs}; the parameters must keep the inputs' sample and "
        "batch dimensions"
    )
    return ShapeError(
        f"{p.prob_text} ({type(p).__name__}): parameters of batch shape "
        f"{tuple(dist.batch_shape)} leave no batch dimension in front of the {n} feature "
        f"dimension(s): {how}"
    )


def check_value_batch(
    p: ParametricDistribution, dist: torch.distributions.Distribution, value: torch.Tensor, n_feat: int
) -> None:
    """Raise :class:`ShapeError` for a value lacking the batch dim (failure path of get_log_prob)."""
    need = n_feat + 1  # the labels of a one-hot family lack only the event dims
    if not p.accepts_value(value):
        need += len(dist.event_shape)
    batch = dist.batch_shape[len(dist.batch_shape) - n_feat - 1]  # feature_ndim keeps it
    if value.dim() >= need or batch == 1:  # a missing batch of 1 broadcasts harmlessly
        return
    raise ShapeError(
        f"{p.prob_text}: {p._var[0]!r} of shape {tuple(value.shape)} has no batch "
        f"dimension: given its inputs, the parameters have shape "
        f"{tuple(dist.batch_shape + dist.event_shape)} (batch size {batch}, then features "
        f"{tuple(p._features_shape)}); pass a value with the batch dimension first"
    )
