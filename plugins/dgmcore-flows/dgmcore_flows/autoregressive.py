"""Autoregressive flows on a MADE: :class:`MAF`, :class:`IAF` and :class:`SplineAutoregressive`.

Each feature is transformed with parameters computed from the features before
it (and the context):

.. math::
    y_i = \\tau(x_i; \\theta_i(x_{<i}, c)), \\qquad \\log |\\det J| = \\sum_i \\log |\\partial_{x_i} \\tau|.

``forward`` is one pass of the network (all :math:`\\theta_i` at once, since
they read the *input*); ``inverse`` needs ``D`` passes, each fixing one more
feature. Use the fast direction where it is needed most: a :class:`MAF` inside
an :class:`~dgmcore_flows.InverseTransformedDistribution` (data to latent:
fast density), an :class:`IAF` inside a
:class:`~dgmcore_flows.TransformedDistribution` (latent to data: fast
sampling, with the density of its own samples).
"""

from __future__ import annotations

import torch
from torch import Tensor

from dgmcore_flows.base import Flow
from dgmcore_flows.elementwise import Affine, Elementwise, Gated
from dgmcore_flows.nets import MADE
from dgmcore_flows.spline import RationalQuadratic

__all__ = ["IAF", "MAF", "Autoregressive", "SplineAutoregressive"]


class Autoregressive(Flow):
    """An autoregressive flow with any elementwise transform (the shared machinery of the three below).

    Args:
        features: the number of features ``D``.
        transform: the elementwise transform :math:`\\tau`.
        hidden: width of the MADE's hidden layers.
        layers: number of hidden layers.
        context: number of context features.
    """

    def __init__(
        self, features: int, transform: Elementwise, *, hidden: int = 64, layers: int = 2, context: int = 0
    ) -> None:
        super().__init__(features, context=context)
        self.transform = transform
        self.made = MADE(features, transform.params, hidden, layers, context)

    def _context(self, context: Tensor | None, x: Tensor) -> Tensor | None:
        return None if context is None else self._expand_context(context, x)

    def _forward(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        y, ladj = self.transform.forward(x, self.made(x, self._context(context, x)))
        return y, ladj.sum(-1)

    def _inverse(self, y: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        c = self._context(context, y)
        x = torch.zeros_like(y)
        # after pass k the first k features are exact (theta_i reads x_<i only), so D passes invert
        for _ in range(self.features):
            x, ladj = self.transform.inverse(y, self.made(x, c))
        return x, ladj.sum(-1)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, transform={self.transform!r}"


class MAF(Autoregressive):
    """Masked autoregressive flow (Papamakarios et al. 2017): :math:`y_i = x_i e^{s_i} + t_i`.

    Example:
        >>> import torch
        >>> flow = MAF(3, hidden=16)
        >>> x = torch.randn(2, 3)
        >>> y, logdet = flow(x)
        >>> torch.allclose(flow.inverse(y)[0], x, atol=1e-6)
        True
    """

    def __init__(self, features: int, hidden: int = 64, layers: int = 2, context: int = 0) -> None:
        super().__init__(features, Affine(), hidden=hidden, layers=layers, context=context)


class IAF(Autoregressive):
    """Inverse autoregressive flow (Kingma et al. 2016): :math:`y_i = \\sigma_i x_i + (1 - \\sigma_i) m_i`.

    Example:
        >>> import torch
        >>> y, logdet = IAF(3, hidden=16)(torch.randn(2, 3))
        >>> logdet.shape
        torch.Size([2])
    """

    def __init__(self, features: int, hidden: int = 64, layers: int = 2, context: int = 0) -> None:
        super().__init__(features, Gated(), hidden=hidden, layers=layers, context=context)


class SplineAutoregressive(Autoregressive):
    """Autoregressive rational-quadratic spline flow (NSF-RQ-AR, Durkan et al. 2019).

    Example:
        >>> import torch
        >>> y, logdet = SplineAutoregressive(3, bins=8, hidden=16)(torch.randn(2, 3))
        >>> y.shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        features: int,
        bins: int = 8,
        bound: float = 5.0,
        hidden: int = 64,
        layers: int = 2,
        context: int = 0,
    ) -> None:
        super().__init__(
            features, RationalQuadratic(bins, bound), hidden=hidden, layers=layers, context=context
        )
