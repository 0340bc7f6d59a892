"""The normal family and its exponential: :class:`Normal`, :class:`LogNormal`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["Normal", "LogNormal"]


class Normal(ParametricDistribution):
    """The normal distribution :math:`\\mathcal{N}(x \\mid \\mu, \\sigma^2)`, features independent.

    Parameters ``loc`` (:math:`\\mu`) and ``scale`` (:math:`\\sigma > 0`), each a
    constant (number or tensor), the name of a conditioning variable, or
    returned by :meth:`forward` as in Pixyz. Samples are reparameterisable.

    Example:
        >>> import torch
        >>> from dgmcore_families import Normal
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_prior")
        >>> prior.sample(batch_n=3)["z"].shape
        torch.Size([3, 2])
        >>> class Encoder(Normal):
        ...     def __init__(self):
        ...         super().__init__(var=["z"], cond_var=["x"], name="q")
        ...         self.net = torch.nn.Linear(4, 4)
        ...     def forward(self, x):
        ...         h = self.net(x)
        ...         return {"loc": h[..., :2], "scale": torch.nn.functional.softplus(h[..., 2:])}
        >>> q = Encoder()
        >>> z = q.sample({"x": torch.randn(3, 4)}, reparam=True)["z"]
        >>> z.shape, q.prob_text
        (torch.Size([3, 2]), 'q(z|x)')
    """

    family = torch.distributions.Normal
    params = ("loc", "scale")


class LogNormal(ParametricDistribution):
    """The log-normal distribution: :math:`\\log x \\sim \\mathcal{N}(\\mu, \\sigma^2)`, for :math:`x > 0`.

    Parameters ``loc`` and ``scale`` are those of :math:`\\log x`.

    Example:
        >>> import torch
        >>> from dgmcore_families import LogNormal
        >>> p = LogNormal(loc=0.0, scale=1.0, var=["x"])
        >>> bool((p.sample(batch_n=5)["x"] > 0).all())
        True
        >>> round(p.get_log_prob({"x": torch.ones(1)}).item(), 4)  # log N(0 | 0, 1)
        -0.9189
    """

    family = torch.distributions.LogNormal
    params = ("loc", "scale")


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl already has Normal-Normal (and Normal against Laplace, Gamma,
# Uniform, ...) and LogNormal-LogNormal (through TransformedDistribution), so nothing is
# registered here; the lists exist so that every module exports the same two names.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
