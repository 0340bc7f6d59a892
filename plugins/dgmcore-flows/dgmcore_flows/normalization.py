"""Affine flows per feature (per channel of images): ActNorm1d/2d and BatchNorm1d/2d.

Both are affine per feature :math:`i` (per channel of an image, shared by its
``H x W`` pixels):

.. math::
    y_i = a_i x_i + b_i, \\qquad \\log |\\det J| = (H W) \\sum_i \\log |a_i|.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dgmcore_flows.base import Flow

__all__ = ["ActNorm1d", "ActNorm2d", "BatchNorm1d", "BatchNorm2d"]


class _PerFeature(Flow):
    """Shared helpers: reshape a ``(C,)`` vector to broadcast over the event, count the pixels."""

    def _view(self, v: Tensor) -> Tensor:
        return v[:, None, None] if self.event_dims == 3 else v

    def _pixels(self, t: Tensor) -> int:
        return t.shape[-1] * t.shape[-2] if self.event_dims == 3 else 1

    def _reduce_dims(self, t: Tensor) -> list[int]:
        """Every dimension but the feature (channel) dimension."""
        channel = t.dim() - self.event_dims
        return [d for d in range(t.dim()) if d != channel]

    def _logdet(self, log_scale: Tensor, t: Tensor) -> Tensor:
        return (log_scale.sum() * self._pixels(t)).expand(self._batch_shape(t))


class _ActNorm(_PerFeature):
    initialized: Tensor

    def __init__(self, features: int, *, image: bool, eps: float = 1e-6) -> None:
        super().__init__(features, image=image)
        self.eps = eps
        self.shift = nn.Parameter(torch.zeros(features))
        self.log_scale = nn.Parameter(torch.zeros(features))
        # recorded in state_dict, so a loaded model is not initialised again on its first batch
        self.register_buffer("initialized", torch.tensor(False))

    @torch.no_grad()
    def _initialize(self, t: Tensor, inverse: bool) -> None:
        dims = self._reduce_dims(t)
        mean, std = t.mean(dim=dims), t.std(dim=dims, unbiased=False) + self.eps
        if inverse:  # the output of inverse is standardised: x = (y - shift) / scale
            self.log_scale.copy_(std.log())
            self.shift.copy_(mean)
        else:  # the output of forward is standardised: y = x * scale + shift
            self.log_scale.copy_(-std.log())
            self.shift.copy_(-mean / std)
        self.initialized.fill_(True)

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        if not self.initialized:
            self._initialize(x, inverse=False)
        y = x * self._view(self.log_scale.exp()) + self._view(self.shift)
        return y, self._logdet(self.log_scale, x)

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        if not self.initialized:
            self._initialize(y, inverse=True)
        x = (y - self._view(self.shift)) * self._view((-self.log_scale).exp())
        return x, self._logdet(-self.log_scale, y)


class ActNorm1d(_ActNorm):
    """Activation normalisation (Kingma & Dhariwal 2018) of feature vectors.

    On the first batch it sees (in either direction) it sets its scale and
    shift so that its output has zero mean and unit variance per feature;
    the buffer ``initialized`` records this in ``state_dict``.

    Example:
        >>> import torch
        >>> flow = ActNorm1d(2)
        >>> y, _ = flow(torch.tensor([[0.0, 10.0], [2.0, 30.0]]))
        >>> y.detach().round(decimals=4)
        tensor([[-1., -1.],
                [ 1.,  1.]])
        >>> bool(flow.state_dict()["initialized"])
        True
    """

    def __init__(self, features: int) -> None:
        super().__init__(features, image=False)


class ActNorm2d(_ActNorm):
    """Activation normalisation of images, one scale and shift per channel.

    Example:
        >>> import torch
        >>> y, logdet = ActNorm2d(3)(torch.randn(4, 3, 5, 5) * 2)
        >>> y.shape, logdet.shape
        (torch.Size([4, 3, 5, 5]), torch.Size([4]))
    """

    def __init__(self, channels: int) -> None:
        super().__init__(channels, image=True)


class _BatchNorm(_PerFeature):
    running_mean: Tensor
    running_var: Tensor

    def __init__(self, features: int, *, image: bool, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__(features, image=image)
        self.momentum, self.eps = momentum, eps
        self.log_gamma = nn.Parameter(torch.zeros(features))
        self.beta = nn.Parameter(torch.zeros(features))
        self.register_buffer("running_mean", torch.zeros(features))
        self.register_buffer("running_var", torch.ones(features))

    def _stats(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if not self.training:
            return self.running_mean, self.running_var
        dims = self._reduce_dims(x)
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        with torch.no_grad():
            self.running_mean.lerp_(mean, self.momentum)
            self.running_var.lerp_(var, self.momentum)
        return mean, var

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        mean, var = self._stats(x)
        log_scale = self.log_gamma - 0.5 * (var + self.eps).log()
        y = (x - self._view(mean)) * self._view(log_scale.exp()) + self._view(self.beta)
        return y, self._logdet(log_scale, x)

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        log_scale = self.log_gamma - 0.5 * (self.running_var + self.eps).log()
        x = (y - self._view(self.beta)) * self._view((-log_scale).exp()) + self._view(self.running_mean)
        return x, self._logdet(-log_scale, y)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation as a flow (Dinh et al. 2017, appendix E), on feature vectors.

    .. math::
        y = \\frac{x - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} e^{\\gamma} + \\beta.

    In training mode ``forward`` uses the batch's mean and variance (and
    updates the running averages); in eval mode, and always in ``inverse``,
    the running averages. So ``inverse`` undoes ``forward`` exactly in eval mode.

    Example:
        >>> import torch
        >>> flow = BatchNorm1d(3).eval()
        >>> x = torch.randn(4, 3)
        >>> torch.allclose(flow.inverse(flow(x)[0])[0], x)
        True
    """

    def __init__(self, features: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__(features, image=False, momentum=momentum, eps=eps)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation as a flow on images, statistics per channel over batch and pixels.

    Example:
        >>> import torch
        >>> y, logdet = BatchNorm2d(2)(torch.randn(4, 2, 3, 3))
        >>> logdet.shape
        torch.Size([4])
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__(channels, image=True, momentum=momentum, eps=eps)
