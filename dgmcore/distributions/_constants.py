"""Constant parameters of a :class:`ParametricDistribution`, checked once at construction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dgmcore.distributions._shapes import error_class
from dgmcore.errors import ParameterError, ShapeError

if TYPE_CHECKING:
    from dgmcore.distributions._parametric import ParametricDistribution

__all__ = ["ConstantViews", "expand_constants", "check_constants", "constant_entry", "stored_constant"]


class ConstantViews:
    """Pixyz's view of constants: a buffer constant ``p.loc`` reads with a leading 1, ``(1, *shape)``.

    Mixed into :class:`~dgmcore.distributions.ParametricDistribution` ahead of
    ``nn.Module``; the distribution sets ``_constant_views`` (the names of its
    buffer constants) at the end of its constructor. Buffers, ``state_dict``
    and computations keep the buffer's own shape.
    """

    _constant_views: frozenset[str] = frozenset()

    def __getattr__(self, name: str) -> Any:
        """nn.Module's lookup (one set lookup more); a constant buffer reads as its (1, *shape) view."""
        if name in self._constant_views:
            value = self._buffers.get(name)  # type: ignore[attr-defined]
            if value is not None:
                return value.unsqueeze(0)
        return nn.Module.__getattr__(self, name)  # type: ignore[arg-type]

    def __setattr__(self, name: str, value: Any) -> None:
        """nn.Module's; a tensor assigned to a constant in the view's shape is stored without its 1."""
        if name in self._constant_views and isinstance(value, torch.Tensor) and value.dim():
            old = self._buffers.get(name)  # type: ignore[attr-defined]
            if old is not None and value.shape == (1, *old.shape) and not isinstance(value, nn.Parameter):
                value = value[0]  # p.loc = p.loc * 2 keeps the buffer's shape
        nn.Module.__setattr__(self, name, value)  # type: ignore[arg-type]


def stored_constant(p: ParametricDistribution, name: str) -> Any:
    """The constant ``name`` as stored: its buffer, or its ``nn.Parameter``.

    Never the attribute ``p.<name>``, which reads a buffer through Pixyz's
    ``(1, *shape)`` view (see :class:`ParametricDistribution`).
    """
    buffers = p._buffers
    return buffers[name] if name in buffers else p._parameters[name]


def expand_constants(p: ParametricDistribution) -> None:
    """Expand constants to ``features_shape`` and validate them once."""
    consts = {n: stored_constant(p, n) for n in p._const_names}
    try:
        td = p.make_dist(consts, validate_args=True)
    except (ValueError, RuntimeError) as err:
        shapes = {n: tuple(v.shape) for n, v in consts.items()}
        cls = error_class(err)
        raise cls(f"{p.prob_text} ({type(p).__name__}) parameters {shapes}: {err}") from err
    shape = td.batch_shape + td.event_shape
    fs = p._features_shape
    if fs and shape != fs:
        try:
            torch.broadcast_shapes(shape, fs)
        except RuntimeError:
            raise ShapeError(
                f"{p.prob_text}: parameters of shape {tuple(shape)} do not broadcast to "
                f"features_shape {tuple(fs)}"
            ) from None
        # Each constant keeps its own event dims (probs of a Categorical: the
        # categories; scale_tril: a matrix) behind the batch part of features_shape;
        # one the family does not declare in arg_constraints (a temperature) is kept.
        batch = fs[: len(fs) - len(td.event_shape)]
        try:
            constraints = td.arg_constraints
        except NotImplementedError:
            constraints = None
        for n in p._const_names:
            value = stored_constant(p, n)
            if isinstance(value, nn.Parameter) or (constraints is not None and n not in constraints):
                continue
            if constraints is not None:
                event = min(getattr(constraints[n], "event_dim", 0), value.dim())
                target = batch + value.shape[value.dim() - event :]
            else:
                target = fs
            try:
                value = value.expand(target)
            except RuntimeError:
                raise ShapeError(
                    f"{p.prob_text}: parameter {n} of shape {tuple(value.shape)} does "
                    f"not broadcast to features_shape {tuple(fs)}"
                ) from None
            p.register_buffer(n, value.clone())
    elif not fs:
        p._features_shape = shape


def check_constants(p: ParametricDistribution) -> None:
    """Validate each constant against its ``arg_constraints`` entry, once.

    Used when the other parameters come from inputs, so the family cannot be
    built yet: a negative constant scale is still caught at construction.
    """
    constraints = p.family.arg_constraints
    if not isinstance(constraints, dict):  # a property on some families: skip
        return
    for n in p._const_names:
        c = constraints.get(n)
        if c is None or torch.distributions.constraints.is_dependent(c):
            continue
        value = stored_constant(p, n).detach()
        try:
            ok = bool(c.check(value).all())
        except (RuntimeError, ValueError):
            ok = True  # a shape the family would reject is reported when it is built
        if not ok:
            raise ParameterError(
                f"{p.prob_text} ({type(p).__name__}): parameter {n} must satisfy "
                f"{c}, got {value}"
            )


def constant_entry(p: ParametricDistribution, x_dict: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The parameters and torch object of an input-free ``p``, built once per change.

    Its parameters are buffers: nothing about it changes until one of them is
    replaced (``.to()``) or written in place (``load_state_dict``, or through
    the attribute view ``p.loc[0] = ...``, which shares the buffer's version
    counter), which their identities and version counters tell. Learned constants (``nn.Parameter``)
    are rebuilt on every call, since the optimizer moves them.
    """
    if p._has_forward or not p.memo or torch.compiler.is_compiling():
        return p._build(x_dict)
    buffers = p._buffers
    try:
        consts: list[Any] = [buffers[n] for n in p._const_names]
        key = (p.validate_args, *[(id(t), t._version) for t in consts])
    except (KeyError, AttributeError):  # an nn.Parameter, or a buffer set to None
        return p._build(x_dict)
    if any(t.requires_grad for t in consts):  # a graph through them is freed by each backward
        return p._build(x_dict)
    cached = p._constant_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    built = p._build(x_dict)
    # the tensors are kept alive with the entry, so their ids cannot be reused
    p._constant_cache = (key, built, consts)
    return built
