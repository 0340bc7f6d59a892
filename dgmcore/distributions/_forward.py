"""Calling a user's ``forward``: errors are re-raised naming the distribution."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from dgmcore.distributions._sample_dims import sample_dims
from dgmcore.errors import DGMError, ForwardError, InputTypeError

if TYPE_CHECKING:
    from dgmcore.distributions._base import Distribution

__all__ = ["run_forward", "shapes_of"]


def shapes_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """Shapes of tensors (other values by type name), for error messages."""
    return {
        k: tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
        for k, v in values.items()
    }


def run_forward(dist: Distribution, inputs: dict[str, Any]) -> dict[str, Any]:
    """Call ``dist(**inputs)`` and check that it returned a dict.

    An exception raised inside ``forward`` is re-raised as
    :class:`~dgmcore.errors.ForwardError` chained to the original, naming the
    distribution and the shapes of its inputs. The ``try`` costs nothing when
    nothing is raised.
    """
    try:
        out = dist(**inputs)
    except DGMError:
        raise
    except Exception as err:
        bad = {k: type(v).__name__ for k, v in inputs.items() if not isinstance(v, torch.Tensor)}
        if bad:  # a list, an array or a number where a tensor belongs: say that, not the network's error
            raise InputTypeError(
                f"{dist.prob_text} ({type(dist).__name__}): the values of {sorted(bad)} must be "
                f"torch.Tensors, got {bad}"
                + (" (convert with torch.as_tensor)" if "ndarray" in bad.values() else "")
            ) from err
        n = sample_dims()
        hint = (
            f"; inputs carry {n} sample dim(s) in front of the batch, and an observed input may "
            "not: broadcast them to a common leading shape before combining (lead = "
            "torch.broadcast_shapes(z.shape[:-1], y.shape[:-1]); torch.cat([z.expand(*lead, -1), "
            "y.expand(*lead, -1)], dim=-1))"
            if n > 0
            else ""
        )
        raise ForwardError(
            f"forward of {dist.prob_text} ({type(dist).__name__}) raised "
            f"{type(err).__name__}: {err} (inputs: {shapes_of(inputs)}){hint}"
        ) from err
    if type(out) is not dict:
        if isinstance(out, Mapping):
            return dict(out)
        raise InputTypeError(
            f"forward of {dist.prob_text} ({type(dist).__name__}) must return a dict of "
            f"parameters, got {type(out).__name__}"
        )
    return out
