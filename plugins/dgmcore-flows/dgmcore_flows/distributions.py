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

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError, MissingVariableError, NoDensityError
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

    def _x_dict(self, x_dict: Any) -> Mapping[str, Any]:
        if x_dict is None:
            return {}
        if not isinstance(x_dict, Mapping):
            raise InputTypeError(
                f"{self.prob_text}: x_dict must be a dict of tensors, got {type(x_dict).__name__}"
            )
        return x_dict

    def _get(self, x_dict: Mapping[str, Any], v: str) -> Tensor:
        try:
            return x_dict[v]
        except KeyError:
            raise MissingVariableError(v, self.prob_text, x_dict) from None

    def _context(self, x_dict: Mapping[str, Any]) -> Tensor | None:
        if not self.context_var:
            return None
        parts = [self._get(x_dict, v) for v in self.context_var]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)

    def _prior_inputs(self, x_dict: Mapping[str, Any]) -> XDict:
        return {v: self._get(x_dict, v) for v in self.prior.cond_var}

    def _check_sum(self, sum_features: bool, feature_dims: Sequence[int] | None) -> None:
        if not sum_features or feature_dims is not None:
            raise NoDensityError(
                f"{self.prob_text} ({self.distribution_name}): a flow mixes the features, so only the joint "
                "density of all of them exists (sum_features=True, feature_dims=None)"
            )

    def _score(self, x_dict: Mapping[str, Any], z: Tensor, logdet: Tensor) -> Tensor:
        return self.prior.get_log_prob({**self._prior_inputs(x_dict), self.latent: z}) + logdet

    def _finish(
        self, x_dict: Mapping[str, Any], x: Tensor, z: Tensor, return_all: bool, hidden: bool
    ) -> XDict:
        new: XDict = {self.var[0]: x}
        if hidden:
            new[self.latent] = z
        return {**x_dict, **new} if return_all else new

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

    def sample(  # noqa: D102
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
        return_hidden: bool = False,
    ) -> XDict:
        given = self._x_dict(x_dict)
        z = self.prior.sample(
            self._prior_inputs(given),
            batch_n=batch_n,
            sample_shape=sample_shape,
            return_all=False,
            reparam=reparam,
        )[self.latent]
        x, _ = self.flow(z)
        return self._finish(given, x, z, return_all, return_hidden)

    def get_log_prob(  # noqa: D102
        self, x_dict: XDict, sum_features: bool = True, feature_dims: Sequence[int] | None = None
    ) -> Tensor:
        self._check_sum(sum_features, feature_dims)
        given = self._x_dict(x_dict)
        z, logdet = self.flow.inverse(self._get(given, self.var[0]))
        return self._score(given, z, logdet)


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

    def sample(  # noqa: D102
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
        return_hidden: bool = False,
    ) -> XDict:
        given = self._x_dict(x_dict)
        context = self._context(given)
        if batch_n is None and context is not None and not self.prior.cond_var:
            batch_n = context.shape[0]  # one sample per conditioning input, as a conditional family draws
        z = self.prior.sample(
            self._prior_inputs(given),
            batch_n=batch_n,
            sample_shape=sample_shape,
            return_all=False,
            reparam=reparam,
        )[self.latent]
        x, _ = self.flow.inverse(z, context)
        return self._finish(given, x, z, return_all, return_hidden)

    def get_log_prob(  # noqa: D102
        self, x_dict: XDict, sum_features: bool = True, feature_dims: Sequence[int] | None = None
    ) -> Tensor:
        self._check_sum(sum_features, feature_dims)
        given = self._x_dict(x_dict)
        z, logdet = self.flow(self._get(given, self.var[0]), self._context(given))
        return self._score(given, z, logdet)
