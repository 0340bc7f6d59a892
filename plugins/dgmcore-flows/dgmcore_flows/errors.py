"""The errors a flow raises on bad input: both are :class:`dgmcore.errors.DGMError` subclasses."""

from __future__ import annotations

from dgmcore.errors import DGMError, ShapeError

__all__ = ["FlowContextError", "FlowShapeError"]


class FlowShapeError(ShapeError):
    """A tensor given to a flow does not have the shape the flow was built for.

    The message names the flow (``AffineCoupling(4)``), the direction, the
    expected trailing shape and the shape given.
    """


class FlowContextError(DGMError, ValueError):
    """A context was given to a flow that takes none, or is missing or mis-shaped for one that does."""
