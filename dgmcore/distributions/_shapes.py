"""Shape checks of :class:`ParametricDistribution`: the O(1) checks of every call, and the failure paths."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from dgmcore.distributions._forward import shapes_of
from dgmcore.distributions._inputs import XDict
from dgmcore.errors import DGMError, InputTypeError, ParameterError, ShapeError

if TYPE_CHECKING:
    from dgmcore.distributions._parametric import ParametricDistribution

__all__ = ["error_class", "check_tensors", "check_lead", "check_value", "lead_error", "check_value_batch"]


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
        if v in x_dict and not isinstance(x_dict[v], torch.Tensor)
    }
    if bad:
        v, kind = next(iter(bad.items()))
        raise InputTypeError(
            f"{p.prob_text}: the value of {v!r} must be a torch.Tensor, got {kind}"
            + (" (convert it with torch.as_tensor)" if kind == "ndarray" else "")
        )


def lead_error(p: ParametricDistribution, dist: torch.distributions.Distribution, n: int) -> ShapeError:
    """The error for parameters that leave no batch dimension in front of the features."""
    fs = tuple(p.features_shape)
    how = (
        f"its features_shape is {fs}; the parameters must keep the inputs' sample and batch "
        "dimensions"
        if fs
        else "its inputs need a batch dimension first (one example is a batch of 1)"
    )
    return ShapeError(
        f"{p.prob_text} ({type(p).__name__}): parameters of batch shape "
        f"{tuple(dist.batch_shape)} leave no batch dimension in front of the {n} feature "
        f"dimension(s): {how}"
    )


def check_lead(
    p: ParametricDistribution, dist: torch.distributions.Distribution, n: int, x_dict: XDict
) -> torch.distributions.Distribution:
    """``dist`` checked against the inputs' leading shape and the declared features (DESIGN §3).

    The parameters, broadcast together, keep the leading (sample + batch) shape of
    an input; their features broadcast to a declared ``features_shape``, and are
    expanded to it. Costs a few size comparisons.
    """
    bs = dist.batch_shape
    k = len(bs) - n
    lead = bs[:k]
    for v in p._cond_var:  # a plain loop: this runs on every call
        t = x_dict.get(v)
        if isinstance(t, torch.Tensor) and t.shape[:k] == lead:
            break
    else:
        check_tensors(p, x_dict, p.cond_var)
        raise ShapeError(
            f"{p.prob_text} ({type(p).__name__}): its parameters have shape "
            f"{tuple(bs + dist.event_shape)}, whose leading (sample and batch) dimensions "
            f"{tuple(lead)} are not those of its inputs {shapes_of({v: x_dict.get(v) for v in p.cond_var})}; "
            "forward must keep the inputs' sample and batch dimensions (act on the last dims)"
        )
    fs = p._features_shape
    if fs:
        tail = bs[k:] + dist.event_shape
        if tail != fs:
            try:
                fits = torch.broadcast_shapes(tail, fs) == fs
            except RuntimeError:
                fits = False
            if not fits:
                raise ShapeError(
                    f"{p.prob_text} ({type(p).__name__}): parameters with features {tuple(tail)} "
                    f"(shape {tuple(bs + dist.event_shape)}) do not fit its features_shape {tuple(fs)}"
                )
            # a declared features_shape is the sample's shape: broadcast parameters expand to it
            dist = dist.expand(lead + fs[: len(fs) - len(dist.event_shape)])
    return dist


def check_value_batch(
    p: ParametricDistribution, dist: torch.distributions.Distribution, value: torch.Tensor, n_feat: int
) -> None:
    """Raise :class:`ShapeError` for a value lacking the batch dim (failure path of get_log_prob)."""
    need = n_feat + 1  # the labels of a one-hot family lack only the event dims
    if not p.accepts_value(value):
        need += len(dist.event_shape)
    batch = dist.batch_shape[len(dist.batch_shape) - n_feat - 1]  # feature_ndim keeps it
    if value.dim() >= need or batch == 1:  # a missing batch of 1 broadcasts to the same values
        return
    raise ShapeError(
        f"{p.prob_text}: {p.var[0]!r} of shape {tuple(value.shape)} has no batch "
        f"dimension: given its inputs, the parameters have shape "
        f"{tuple(dist.batch_shape + dist.event_shape)} (batch size {batch}, then features "
        f"{tuple((dist.batch_shape + dist.event_shape)[len(dist.batch_shape) - n_feat:])}); pass a "
        "value with the batch dimension first"
    )

def check_value(
    p: ParametricDistribution, dist: torch.distributions.Distribution, value: torch.Tensor, n_feat: int
) -> None:
    """``value``'s shape against a declared ``features_shape`` and the parameters' batch (O(1)).

    Raises:
        ShapeError: the value does not end in the declared features, lacks its
            batch dimension, or has another batch than the parameters (a batch of
            1 on either side would be broadcast over the other silently).
    """
    ndim = value.dim()
    fs = p._features_shape
    if p._declared and value.shape[ndim - len(fs) :] != fs and not p.accepts_value(value):
        raise ShapeError(
            f"{p.prob_text}: {p._var[0]!r} should end in features_shape {tuple(fs)}, "
            f"got a tensor of shape {tuple(value.shape)}"
        )
    # O(1): a value without its batch dim would broadcast against the parameters silently.
    # (Sample dims may be absent: an observation scored under sampled latents.)
    k = n_feat + len(dist.event_shape) + 1
    if not p._has_inputs:
        # an input-free distribution's value brings the batch: one without it is refused
        full = (dist.batch_shape + dist.event_shape)[len(dist.batch_shape) - n_feat :]
        lead_ones = next((i for i, d in enumerate(full) if d != 1), len(full))  # constants' batch of 1
        if ndim < k - lead_ones and (ndim < n_feat + 1 - lead_ones or not p.accepts_value(value)):
            raise ShapeError(
                f"{p.prob_text}: {p._var[0]!r} of shape {tuple(value.shape)} has no batch "
                f"dimension in front of its features {tuple(p.features_shape_of(dist))}; "
                "pass a batch (one example is a batch of 1)"
            )
    else:
        if ndim < k:
            check_value_batch(p, dist, value, n_feat)
        elif (
            value.shape[ndim - k] != dist.batch_shape[len(dist.batch_shape) - n_feat - 1]
            and value.shape[ndim - k + 1 :] == (dist.batch_shape + dist.event_shape)[-k + 1 :]
            and not p.accepts_value(value)  # another encoding (one-hot) aligns differently
        ):
            raise ShapeError(  # a batch of 1 on either side would be broadcast over the other
                f"{p.prob_text}: {p._var[0]!r} of shape {tuple(value.shape)} has a batch of "
                f"{value.shape[ndim - k]} where its parameters, given its inputs, have shape "
                f"{tuple(dist.batch_shape + dist.event_shape)} (batch "
                f"{dist.batch_shape[len(dist.batch_shape) - n_feat - 1]})"
            )
