"""Divergences and entropies: :class:`KullbackLeibler`, :class:`Entropy`, :class:`CrossEntropy`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from dgmcore.distributions._base import Distribution
from dgmcore.distributions._inputs import sample_shape_of
from dgmcore.distributions.kl import find_kl, kl_divergence
from dgmcore.errors import (
    DGMError,
    InputTypeError,
    KLNotFoundError,
    NoDensityError,
    PluginError,
    ShapeError,
)
from dgmcore.losses._base import Loss, XDict
from dgmcore.losses._expectation import Expectation
from dgmcore.losses._terms import LogProb, check_distribution

__all__ = ["KullbackLeibler", "Entropy", "CrossEntropy", "analytic_kl"]


def _sum_features(value: torch.Tensor, n: int) -> torch.Tensor:
    return value.sum(dim=tuple(range(-n, 0))) if n else value


def analytic_kl(p: Distribution, q: Distribution, x: XDict) -> torch.Tensor:
    """KL[p||q] in closed form, features summed: one value per batch element.

    Raises:
        KLNotFoundError: no analytic pair is registered for the two families.
        ShapeError: the two distributions' parameters do not broadcast (batch
            sizes or feature counts differ), or their feature shapes differ
            (a prior declared with 1 feature against a posterior with 2); the
            message names both.
        PluginError: a plugin's registered KL function raised, or returned
            something other than one value per element of the parameters'
            shape; the message names the function and the pair.
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
    except DGMError:
        raise
    except Exception as err:
        raise _kl_failure(p, q, dp, dq, err) from err
    if kl is None:
        raise KLNotFoundError(
            f"no analytic KL divergence is registered for {p.prob_text} "
            f"({p.distribution_name}, {type(dp).__name__}) and {q.prob_text} "
            f"({q.distribution_name}, {type(dq).__name__}). Pass analytical=False for the "
            "Monte-Carlo estimate, or register the pair with a plugin's register_kl hook"
        )
    shape = kl.shape if isinstance(kl, torch.Tensor) else None
    if shape != dp.batch_shape and shape != dq.batch_shape:  # hot path: one of the two
        _check_result(p, q, dp, dq, kl)
    n_p, n_q = p.feature_ndim(dp), q.feature_ndim(dq)
    # both sides with features: a (1,) prior would broadcast against 2 features, summed twice
    if n_p and n_q and dp.batch_shape[-n_p:] != dq.batch_shape[-n_q:]:
        raise _shape_error(p, q, dp, dq, "whose features differ")
    return _sum_features(kl, max(n_p, n_q))


def _params_shape(d: Any) -> tuple[int, ...]:
    return tuple(d.batch_shape + d.event_shape)


def _shape_error(p: Distribution, q: Distribution, dp: Any, dq: Any, why: str) -> ShapeError:
    return ShapeError(
        f"cannot compute KL[{p.prob_text}||{q.prob_text}]: {p.prob_text} has parameters of "
        f"shape {_params_shape(dp)} and {q.prob_text} of shape {_params_shape(dq)}, {why}"
    )


def _kl_failure(p: Distribution, q: Distribution, dp: Any, dq: Any, err: Exception) -> DGMError:
    """The error for a KL function that raised: the shapes' fault, or the plugin function's."""
    try:
        torch.broadcast_shapes(dp.batch_shape, dq.batch_shape)
    except RuntimeError:
        return _shape_error(p, q, dp, dq, f"which disagree in batch size or features ({err})")
    fn = find_kl(p, q, dp, dq)
    if fn is None:  # torch's own function
        return _shape_error(p, q, dp, dq, f"and torch's kl_divergence raised {type(err).__name__}: {err}")
    return PluginError(
        f"cannot compute KL[{p.prob_text}||{q.prob_text}]: the KL function {_fn_name(fn)} "
        f"registered for ({type(dp).__name__}, {type(dq).__name__}) raised "
        f"{type(err).__name__}: {err}"
    )


def _check_result(p: Distribution, q: Distribution, dp: Any, dq: Any, kl: Any) -> None:
    """Failure path of the shape test in :func:`analytic_kl`: say what is wrong, or accept."""
    expected = torch.broadcast_shapes(dp.batch_shape, dq.batch_shape)
    if isinstance(kl, torch.Tensor) and kl.shape == expected:
        return
    got = f"shape {tuple(kl.shape)}" if isinstance(kl, torch.Tensor) else type(kl).__name__
    fn = find_kl(p, q, dp, dq)
    source = (
        f"the KL function {_fn_name(fn)} registered for ({type(dp).__name__}, {type(dq).__name__})"
        if fn is not None
        else "torch's kl_divergence"
    )
    raise PluginError(
        f"cannot compute KL[{p.prob_text}||{q.prob_text}]: {source} returned {got}; expected a "
        f"tensor of the parameters' shape {tuple(expected)} (one value per batch element and "
        "feature, before features are summed)"
    )


def _fn_name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _same_variables(p: Distribution, q: Distribution, formula: str) -> None:
    """KL and cross-entropy compare two densities of the same variables, of the same features."""
    if list(p.var) != list(q.var):
        raise InputTypeError(
            f"{formula}: the two distributions must be over the same "
            f"variables, got {list(p.var)} and {list(q.var)} (rename one with replace_var)"
        )
    fp, fq = p.features_shape, q.features_shape
    if fp and fq and fp != fq:
        raise ShapeError(
            f"{formula}: the two distributions have different "
            f"features_shape, {tuple(fp)} and {tuple(fq)}"
        )


def _options(analytical: Any, sample_shape: Any, owner: str) -> torch.Size:
    """``analytical`` must be a bool; ``sample_shape`` is checked in either mode."""
    if not isinstance(analytical, bool):
        raise InputTypeError(f"{owner}: analytical must be True or False, got {analytical!r}")
    return sample_shape_of(sample_shape, owner)


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
        _same_variables(p, q, f"KL[{p.prob_text}||{q.prob_text}]")
        _options(analytical, sample_shape, f"KL[{p.prob_text}||{q.prob_text}]")
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
        _options(analytical, sample_shape, f"H[{p.prob_text}]")
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
        _options(analytical, sample_shape, f"H[{p.prob_text}, {q.prob_text}]")
        if analytical:  # H[p] + KL[p||q]; the Monte-Carlo form lets q read what p draws
            _same_variables(p, q, f"H[{p.prob_text}, {q.prob_text}]")
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
