"""FactorVAE's total correlation (Kim and Mnih, 2018), by the density-ratio trick."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError
from dgmcore.latex import symbol
from dgmcore_adversarial.base import short_latex
from dgmcore_adversarial.divergences import AdversarialKullbackLeibler

__all__ = ["PermuteDims", "TotalCorrelation", "permute_dims"]

XDict = dict[str, Any]


def permute_dims(z: torch.Tensor) -> torch.Tensor:
    """Shuffle each feature of ``z`` (batch first) independently across the batch.

    The result is a sample of the product of the marginals :math:`\\prod_j q(z_j)`
    when the rows of ``z`` are samples of :math:`q(z)` (Kim and Mnih, 2018,
    Algorithm 1).

    Example:
        >>> z = torch.arange(12.0).reshape(4, 3)
        >>> zp = permute_dims(z)
        >>> all(sorted(zp[:, j].tolist()) == z[:, j].tolist() for j in range(3))
        True
    """
    flat = z.reshape(z.shape[0], -1)
    order = torch.rand(flat.shape, device=z.device).argsort(dim=0)
    return flat.gather(0, order).reshape(z.shape)


class PermuteDims(Distribution):
    """The product of the marginals of ``q``: a sample of ``q`` with every feature shuffled over the batch.

    Sampling draws from ``q`` and applies :func:`permute_dims` to each of its
    variables; it has no density and no reparameterised gradient (it feeds
    only the discriminator), and it takes no ``sample_shape``.

    Args:
        q: the distribution (usually an encoder ``q(z|x)``, whose samples over
            a batch of data are samples of the aggregate posterior ``q(z)``).
    """

    distribution_name = "PermuteDims"

    def __init__(self, q: Distribution) -> None:
        if not isinstance(q, Distribution):
            raise InputTypeError(f"PermuteDims needs a dgmcore Distribution, got {type(q).__name__}")
        super().__init__(var=q.var, cond_var=q.input_var, name=f"\\bar{{{q.name}}}")
        self.q = q

    has_reparam = False  # permuted draws: no gradient path to q's parameters

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        if sample_shape:
            raise InputTypeError(
                f"{self.prob_text} permutes over the batch and draws no sample dimensions; "
                f"got sample_shape={tuple(sample_shape)}"
            )
        draw = self.q.sample(x_dict, batch_n=batch_n, return_all=False)
        return {v: permute_dims(draw[v]) for v in self.q.var}


class TotalCorrelation(AdversarialKullbackLeibler):
    """:math:`TC(z) = D_{KL}[q(z) \\| \\prod_j q(z_j)]`, FactorVAE's penalty, estimated adversarially.

    The discriminator tells samples of the aggregate posterior :math:`q(z)`
    (``q(z|x)`` over a batch of data) from samples of :math:`\\prod_j q(z_j)`
    (the same, with each dimension permuted over the batch, :class:`PermuteDims`);
    the term is :math:`\\log d(z) - \\log(1 - d(z))` at :math:`z \\sim q(z|x)`,
    an estimate of :math:`\\log q(z) / \\prod_j q(z_j)` (Kim and Mnih, 2018,
    equation 3). The FactorVAE objective is
    ``(KullbackLeibler(q, prior) - p.log_prob().expectation(q) + gamma * tc).mean()``,
    and ``tc.train(x_dict)`` takes the discriminator's step.

    Args:
        q: the encoder ``q(z|x)``.
        discriminator: ``d(t|z)``, ending in a sigmoid.
        optimizer: the discriminator's optimizer class.
        optimizer_params: its keyword arguments.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from dgmcore.distributions import Deterministic
        >>> from dgmcore_families import Normal
        >>> from dgmcore_adversarial import TotalCorrelation
        >>> q = Normal(loc="x", scale=0.1, var=["z"], cond_var=["x"], name="q")
        >>> class D(Deterministic):
        ...     def __init__(self):
        ...         super().__init__(var=["t"], cond_var=["z"], name="d")
        ...         self.net = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
        ...     def forward(self, z):
        ...         return {"t": self.net(z)}
        >>> tc = TotalCorrelation(q, D())
        >>> str(tc)
        'TC^Adv[q(z|x)]'
        >>> print(tc.q.prob_text)  # the discriminator's second side: the permuted samples
        \\bar{q}(z|x)
        >>> tc.eval({"x": torch.randn(16, 2)}).shape
        torch.Size([16])
    """

    def __init__(
        self,
        q: Distribution,
        discriminator: Distribution,
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(q, PermuteDims(q), discriminator, optimizer, optimizer_params)

    def _text(self) -> str:
        return f"TC^Adv[{self.p.prob_text}]"

    def _symbolic(self) -> Any:
        return symbol(self._text(), f"TC^{{Adv}}\\left[{short_latex(self.p)}\\right]")
