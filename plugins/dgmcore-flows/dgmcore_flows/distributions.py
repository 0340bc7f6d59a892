"""Flow distributions: :class:`TransformedDistribution` and :class:`InverseTransformedDistribution`.

Both push a prior :math:`p(z)` (any dgmcore distribution of one variable)
through a flow and have the exact density of the change of variables:

.. math::
    x = f(z),\\ z \\sim p(z): \\qquad
    \\log p(x) = \\log p(z) + \\log |\\det J_{f^{-1}}(x)|, \\quad z = f^{-1}(x).

:class:`TransformedDistribution` samples with ``flow.forward`` (latent to
data) and scores with ``flow.inverse``; :class:`InverseTransformedDistribution`
is the normalising-flow training direction: ``flow.forward`` maps the data to
the latent (scoring costs one forward pass) and sampling uses ``flow.inverse``.
Both are :class:`dgmcore.distributions.Distribution` s: they multiply into
joints, work in every loss (``-p.log_prob().mean()``), and print their formula.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from dgmcore.distributions import Distribution, check_x_dict
from dgmcore.errors import InputTypeError
from dgmcore_flows.base import Flow

__all__ = ["InverseTransformedDistribution", "TransformedDistribution"]

XDict = dict[str, Any]


def _one(var: str | Sequence[str], owner: str) -> str:
    names = [var] if isinstance(var, str) else list(var)
    if len(names) != 1:
        raise InputTypeError(f"{owner}: a flow distribution generates one variable, got var={names}")
    return names[0]


class _FlowDistribution(Distribution):
    """What both share: the prior and the flow as children, x_dict checks, the change of variables."""

    def __init__(
        self, prior: Distribution, flow: Flow, var: str | Sequence[str], cond_var: Sequence[str], name: str
    ) -> None:
        if not isinstance(prior, Distribution) or len(prior.var) != 1:
            raise InputTypeError(f"{type(self).__name__}: the prior must be a Distribution of one variable")
        out = _one(var, type(self).__name__)
        conds = list(dict.fromkeys([*cond_var, *prior.cond_var]))
        super().__init__(var=[out], cond_var=conds, name=name, features_shape=prior.features_shape)
        self.prior, self.flow = prior, flow
        self.latent, self.context_var = prior.var[0], list(cond_var)

    def _context(self, x_dict: Mapping[str, Any]) -> Tensor | None:
        if not self.context_var:
            return None
        parts = [x_dict[v] for v in self.context_var]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def _prior_inputs(self, x_dict: Mapping[str, Any]) -> XDict:
        return {v: x_dict[v] for v in self.prior.cond_var}

    def _to_latent(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        """``(z, log |det dz/dx|)``: the data mapped to the latent."""
        raise NotImplementedError

    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
        return_hidden: bool = False,
    ) -> XDict:
        """Draw samples (see :meth:`dgmcore.distributions.Distribution.sample`).

        ``return_hidden`` also returns the prior's draw of the latent.
        """
        given = check_x_dict(x_dict, self)
        out = super().sample(given, batch_n, sample_shape, return_all, reparam)
        if not return_hidden and self.latent not in given:
            out.pop(self.latent, None)
        return out

    def _log_density(self, x_dict: XDict) -> tuple[Tensor, int]:
        z, logdet = self._to_latent(x_dict[self.var[0]], self._context(x_dict))
        # one value per sample: a flow mixes the features, only their joint density exists
        return self.prior.get_log_prob({**self._prior_inputs(x_dict), self.latent: z}) + logdet, 0

    def _draw_latent(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> Tensor:
        return self.prior.sample(
            self._prior_inputs(x_dict), batch_n=batch_n, sample_shape=sample_shape, return_all=False,
            reparam=reparam,
        )[self.latent]

    @property
    def has_reparam(self) -> bool:  # noqa: D102
        return self.prior.has_reparam


class TransformedDistribution(_FlowDistribution):
    """:math:`x = f(z)`, :math:`z \\sim` ``prior``: sampled by ``flow.forward``, scored by ``flow.inverse``.

    Args:
        prior: the distribution of :math:`z` (its conditioning variables become this one's).
        flow: the flow :math:`f` (an unconditional one).
        var: the name of :math:`x`.
        name: the name in formulas.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_flows import IAF
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        >>> p = TransformedDistribution(prior, IAF(2, hidden=8), var="x")
        >>> p.prob_text, p.sample(batch_n=3)["x"].shape
        ('p(x)', torch.Size([3, 2]))
        >>> p.get_log_prob({"x": torch.zeros(3, 2)}).shape
        torch.Size([3])
    """

    distribution_name = "TransformedDistribution"

    def __init__(self, prior: Distribution, flow: Flow, var: str | Sequence[str], name: str = "p") -> None:
        super().__init__(prior, flow, var, (), name)

    def _draw(self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool) -> XDict:
        z = self._draw_latent(x_dict, batch_n, sample_shape, reparam)
        return {self.var[0]: self.flow(z)[0], self.latent: z}

    def _to_latent(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.flow.inverse(x)


class InverseTransformedDistribution(_FlowDistribution):
    """:math:`z = f(x, c) \\sim` ``prior``: scored by ``flow.forward``, sampled by ``inverse``.

    Args:
        prior: the distribution of :math:`z`.
        flow: the flow :math:`f`; a conditional flow gets the ``cond_var``
            values, concatenated along the last dimension, as its context.
        var: the name of :math:`x`.
        cond_var: the variables :math:`c` the flow is conditioned on.
        name: the name in formulas.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_flows import MAF
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        >>> p = InverseTransformedDistribution(prior, MAF(2, hidden=8, context=1), var="x", cond_var=["y"])
        >>> p.prob_text
        'p(x|y)'
        >>> loss = -p.log_prob().mean()
        >>> loss.eval({"x": torch.randn(5, 2), "y": torch.randn(5, 1)}).shape
        torch.Size([])
        >>> p.sample({"y": torch.randn(5, 1)})["x"].shape
        torch.Size([5, 2])
    """

    distribution_name = "InverseTransformedDistribution"

    def __init__(
        self,
        prior: Distribution,
        flow: Flow,
        var: str | Sequence[str],
        cond_var: str | Sequence[str] = (),
        name: str = "p",
    ) -> None:
        super().__init__(prior, flow, var, [cond_var] if isinstance(cond_var, str) else list(cond_var), name)

    def _draw(self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool) -> XDict:
        context = self._context(x_dict)
        if batch_n is None and context is not None and not self.prior.cond_var:
            batch_n = context.shape[0]  # one sample per conditioning input, as a conditional family draws
        z = self._draw_latent(x_dict, batch_n, sample_shape, reparam)
        return {self.var[0]: self.flow.inverse(z, context)[0], self.latent: z}

    def _to_latent(self, x: Tensor, context: Tensor | None) -> tuple[Tensor, Tensor]:
        return self.flow(x, context)
