"""The base class of every flow: :class:`Flow`, a stateless invertible transform.

A flow maps a tensor to a tensor of the same number of elements and returns,
with it, the log-absolute-determinant of its Jacobian, one per batch element:

.. math::
    y = f(x), \\qquad \\log |\\det J_f(x)|, \\qquad
    f^{-1}(y) = x, \\qquad \\log |\\det J_{f^{-1}}(y)| = -\\log |\\det J_f(x)|.

The last ``event_dims`` dimensions of the input are the event (``1`` for a
vector of features, ``3`` for a ``(channels, height, width)`` image); every
dimension in front of them (sample dimensions, then the batch) is kept, and the
log-determinant has exactly those leading dimensions. Nothing computed in one
call is stored for the next, so two interleaved batches never interfere.

Subclass requirements:
    * call ``super().__init__(features, context=..., image=...)`` with the
      number of features (channels for an image flow) first;
    * implement ``_forward(x, context)`` and ``_inverse(y, context)``, each
      returning ``(output, logabsdet)``; the public :meth:`Flow.forward` and
      :meth:`Flow.inverse` check the shapes and the context first, so the hooks
      receive checked input (``context`` is ``None`` exactly when the flow takes
      none);
    * a flow whose output has another shape than its input (``Squeeze``,
      ``Flatten``) overrides ``out_features`` / ``out_event_dims``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dgmcore_flows.errors import FlowContextError, FlowShapeError

__all__ = ["Flow", "shape_text"]


def shape_text(shape: tuple[int, ...] | torch.Size) -> str:
    """``(3, 4)`` for a shape, as the error messages write it."""
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


class Flow(nn.Module):
    """An invertible transform with a tractable log-determinant, stateless between calls.

    Args:
        features: the number of features (the size of the last dimension), or
            the number of channels of an image flow.
        context: the number of context features a conditional flow takes
            (``0``: the flow takes no context).
        image: the event is ``(channels, height, width)`` instead of a vector.

    Example:
        >>> import torch
        >>> from dgmcore_flows import Reverse
        >>> flow = Reverse(3)
        >>> y, logdet = flow(torch.tensor([[1.0, 2.0, 3.0]]))
        >>> y, logdet
        (tensor([[3., 2., 1.]]), tensor([0.]))
        >>> flow(torch.zeros(2, 4))
        Traceback (most recent call last):
        ...
        dgmcore_flows.errors.FlowShapeError: Reverse(3): forward expects x of shape (..., 3), got (2, 4)
    """

    def __init__(self, features: int, *, context: int = 0, image: bool = False) -> None:
        super().__init__()
        self.features = int(features)
        self.context_features = int(context)
        self.event_dims = 3 if image else 1

    # -- what the flow reads and writes; overridden by flows that reshape
    @property
    def in_shape(self) -> tuple[int, ...]:
        """The trailing shape the input must start with (``(features,)``; images: ``(channels,)``)."""
        return (self.features,)

    @property
    def out_features(self) -> int:
        """The number of features (channels) of the output."""
        return self.features

    @property
    def out_event_dims(self) -> int:
        """The number of trailing event dimensions of the output."""
        return self.event_dims

    @property
    def flow_name(self) -> str:
        """``AffineCoupling(4)``: how errors and ``str`` name this flow."""
        return f"{type(self).__name__}({self.features})"

    # -- the public template: check, then call the hooks
    def forward(self, x: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The transform: ``(y, logabsdet)``, ``logabsdet`` of shape ``x.shape[:-event_dims]``.

        Raises:
            FlowShapeError: ``x`` does not end in the flow's feature (channel) size.
            FlowContextError: a context given to a flow that takes none, or missing or mis-sized.
        """
        self._check(x, self.in_shape, self.event_dims, "forward", "x")
        return self._forward(x, self._check_context(context, "forward"))

    def inverse(self, y: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The inverse transform: ``(x, logabsdet)`` with ``logabsdet = -forward(x)[1]``."""
        self._check(y, (self.out_features,), self.out_event_dims, "inverse", "y")
        return self._inverse(y, self._check_context(context, "inverse"))

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} does not implement _forward")

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} does not implement _inverse")

    # -- checks (sizes already at hand: nothing is computed on the tensors)
    def _check(self, t: Tensor, head: tuple[int, ...], event_dims: int, direction: str, what: str) -> None:
        if not isinstance(t, Tensor):
            raise FlowShapeError(
                f"{self.flow_name}: {direction} expects a tensor {what}, got {type(t).__name__}"
            )
        shape = t.shape
        if t.dim() < event_dims or tuple(shape[-event_dims:][: len(head)]) != head:
            parts = [str(n) for n in head] + (["H", "W"] if event_dims == 3 and len(head) == 1 else [])
            raise FlowShapeError(
                f"{self.flow_name}: {direction} expects {what} of shape (..., {', '.join(parts)}), "
                f"got {shape_text(shape)}"
            )

    def _check_context(self, context: Tensor | None, direction: str) -> Tensor | None:
        if self.context_features == 0:
            if context is not None:
                raise FlowContextError(
                    f"{self.flow_name}: {direction} takes no context (built with context=0), "
                    f"got a context of shape {shape_text(getattr(context, 'shape', ()))}"
                )
            return None
        if context is None:
            raise FlowContextError(
                f"{self.flow_name}: {direction} needs a context of shape (..., {self.context_features}), "
                "got None"
            )
        if (
            not isinstance(context, Tensor)
            or context.dim() == 0
            or context.shape[-1] != self.context_features
        ):
            raise FlowContextError(
                f"{self.flow_name}: {direction} needs a context of shape (..., {self.context_features}), "
                f"got {shape_text(getattr(context, 'shape', ()))}"
            )
        return context

    def _batch_shape(self, t: Tensor, event_dims: int | None = None) -> torch.Size:
        return t.shape[: t.dim() - (self.event_dims if event_dims is None else event_dims)]

    def _expand_context(self, context: Tensor, x: Tensor) -> Tensor:
        """The context broadcast to the batch of ``x`` (and, for an image flow, over its pixels)."""
        batch = self._batch_shape(x)
        try:
            c = context.expand(*batch, self.context_features)
        except RuntimeError as err:
            raise FlowContextError(
                f"{self.flow_name}: the context of shape {shape_text(context.shape)} does not broadcast "
                f"to the batch {shape_text(batch)} of the input of shape {shape_text(x.shape)}"
            ) from err
        if self.event_dims == 3:
            c = c[..., None, None].expand(*c.shape, *x.shape[-2:])
        return c

    def extra_repr(self) -> str:
        extra = f", context={self.context_features}" if self.context_features else ""
        return f"features={self.features}{extra}"
