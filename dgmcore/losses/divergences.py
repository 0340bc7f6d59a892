"""Divergences and entropies: :class:`KullbackLeibler`, :class:`Entropy`, :class:`CrossEntropy`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from dgmcore.distributions.base import Distribution
from dgmcore.distributions.kl import kl_divergence
from dgmcore.errors import DGMError, KLNotFoundError, NoDensityError, ShapeError
from dgmcore.losses.base import Loss, XDict
from dgmcore.losses.expectation import Expectation
from dgmcore.losses.terms import LogProb, check_distribution

__all__ = ["KullbackLeibler", "Entropy", "CrossEntropy", "analytic_kl"]


def _sum_features(value: torch.Tensor, n: int) -> torch.Tensor:
    return value.sum(dim=tuple(range(-n, 0))) if n else value


def analytic_kl(p: Distribution, q: Distribution, x: XDict) -> torch.Tensor:
    """KL[p||q] in closed form, features summed: one value per batch element.

    Raises:
        KLNotFoundError: no analytic pair is registered for the two families.
        ShapeError: the two distributions' parameters do not broadcast (batch
            sizes or feature counts differ); the message names both.
    """
    try:
        dp, dq = p.get_dist(x), q.get_dist(x)
    except NoDensityError as err:
        raise KLNotFoundError(
            f"no analytic KL for {p.prob_text} and {q.prob_text}: {err}. "
            "Pass analytical=False for the Monte-Carlo estimate"
        ) from None
    try:
        kl = kl_divergence(p, q, dp, dq)
    except (RuntimeError, ValueError) as err:
        if isinstance(err, DGMError):
            raise
        raise ShapeError(
            f"cannot compute KL[{p.prob_text}||{q.prob_text}]: {p.prob_text} has parameters of "
            f"shape {tuple(dp.batch_shape + dp.event_shape)} and {q.prob_text} of shape "
            f"{tuple(dq.batch_shape + dq.event_shape)}, which disagree in batch size or "
            f"features ({err})"
        ) from err
    if kl is None:
        raise KLNotFoundError(
            f"no analytic KL divergence is registered for {p.prob_text} "
            f"({p.distribution_name}, {type(dp).__name__}) and {q.prob_text} "
            f"({q.distribution_name}, {type(dq).__name__}). Pass analytical=False for the "
            "Monte-Carlo estimate, or register the pair with a plugin's register_kl hook"
        )
    n = max(p.feature_ndim(dp), q.feature_ndim(dq))
    return _sum_features(kl, n)


class KullbackLeibler(Loss):
    """:math:`D_{KL}[p\\|q]`, one value per batch element.

    Analytic through the KL registry (pairs registered by plugins, then every
    pair ``torch.distributions.kl`` knows); ``analytical=False`` gives the
    Monte-Carlo estimate :math:`\\mathbb{E}_p[\\log p - \\log q]` with
    ``sample_shape`` samples.

    Args:
        p: the first distribution (the one the expectation is over).
        q: the second distribution.
        analytical: closed form (default) or Monte-Carlo.
        sample_shape: samples per batch element for the Monte-Carlo estimate.

    Raises:
        KLNotFoundError: at evaluation, when ``analytical`` and no analytic pair
            is registered for the two families; the message names both.
        ShapeError: at evaluation, when ``analytical`` and the two
            distributions disagree in batch size or features; the message
            names both and their shapes.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> from dgmcore.losses import KullbackLeibler
        >>> q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2])
        >>> kl = KullbackLeibler(q, prior)
        >>> str(kl)
        'KL[q(z|x)||p(z)]'
        >>> kl.eval({"x": torch.ones(3, 2)})  # 1/2 per feature
        tensor([1., 1., 1.])
    """

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        analytical: bool = True,
        sample_shape: Iterable[int] | int = (1,),
    ) -> None:
        self.p = check_distribution(p, "KullbackLeibler")
        self.q = check_distribution(q, "KullbackLeibler")
        self.analytical = analytical
        self._mc: Loss | None = None
        if not analytical:
            self._mc = Expectation(p, LogProb(p) - LogProb(q), sample_shape)
            super().__init__(self._mc._input_var)
        else:
            super().__init__(list(p.input_var) + [v for v in q.input_var if v not in p.input_var])

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        if self._mc is not None:
            return self._mc._eval(x, samples)
        return analytic_kl(self.p, self.q, x)

    def _text(self) -> str:
        return f"KL[{self.p.prob_text}||{self.q.prob_text}]"

    def _symbolic(self) -> Any:
        from dgmcore.latex import symbol

        return symbol(self._text(), f"D_{{KL}}\\left[{self.p.latex}||{self.q.latex}\\right]")


class Entropy(Loss):
    """:math:`H[p]`: analytic (the entropy registry, else the family's), or Monte-Carlo.

    Args:
        p: the distribution.
        analytical: closed form (default) or the Monte-Carlo estimate
            :math:`-\\mathbb{E}_p[\\log p]`.
        sample_shape: samples per batch element for the Monte-Carlo estimate.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> from dgmcore.losses import Entropy
        >>> q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> Entropy(q).eval({"x": torch.zeros(2, 3)})  # 3 * log(2 pi e) / 2
        tensor([4.2568, 4.2568])
    """

    def __init__(
        self, p: Distribution, analytical: bool = True, sample_shape: Iterable[int] | int = (1,)
    ) -> None:
        self.p = check_distribution(p, "Entropy")
        self.analytical = analytical
        self._mc: Loss | None = None if analytical else -Expectation(p, LogProb(p), sample_shape)
        super().__init__(p.input_var)

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        if self._mc is not None:
            return self._mc._eval(x, samples)
        return self.p.get_entropy(x)

    def _text(self) -> str:
        return f"H[{self.p.prob_text}]"

    def _symbolic(self) -> Any:
        from dgmcore.latex import symbol

        return symbol(self._text(), f"H\\left[{self.p.latex}\\right]")


class CrossEntropy(Loss):
    """:math:`H[p, q] = -\\mathbb{E}_p[\\log q]`.

    Monte-Carlo by default (``q`` may depend on what ``p`` generates);
    ``analytical=True`` computes :math:`H[p] + D_{KL}[p\\|q]` in closed form.

    Args:
        p: the distribution the expectation is over.
        q: the distribution whose log-density is averaged.
        analytical: closed form, or Monte-Carlo (default).
        sample_shape: samples per batch element for the Monte-Carlo estimate.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> from dgmcore.losses import CrossEntropy
        >>> q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[3])
        >>> str(CrossEntropy(q, prior))
        'H[q(z|x), p(z)]'
        >>> CrossEntropy(q, prior, analytical=True).eval({"x": torch.zeros(2, 3)})
        tensor([4.2568, 4.2568])
    """

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        analytical: bool = False,
        sample_shape: Iterable[int] | int = (1,),
    ) -> None:
        self.p = check_distribution(p, "CrossEntropy")
        self.q = check_distribution(q, "CrossEntropy")
        self.analytical = analytical
        if analytical:
            self._inner: Loss = Entropy(p) + KullbackLeibler(p, q)
        else:
            self._inner = -Expectation(p, LogProb(q), sample_shape)
        super().__init__(self._inner._input_var)

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self._inner._eval(x, samples)

    def _text(self) -> str:
        return f"H[{self.p.prob_text}, {self.q.prob_text}]"

    def _symbolic(self) -> Any:
        from dgmcore.latex import symbol

        return symbol(self._text(), f"H\\left[{self.p.latex},{self.q.latex}\\right]")
