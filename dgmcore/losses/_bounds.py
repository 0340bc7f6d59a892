"""Bounds on the log-likelihood: :class:`ELBO`, :class:`IWELBO`, :func:`log_marginal`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from dgmcore import memo
from dgmcore.distributions._base import Distribution
from dgmcore.distributions._inputs import check_x_dict
from dgmcore.distributions._sample_dims import extra_sample_dims
from dgmcore.errors import InputTypeError
from dgmcore.losses._base import Loss, XDict
from dgmcore.losses._expectation import Expectation
from dgmcore.losses._terms import LogProb, check_distribution

__all__ = ["ELBO", "IWELBO", "log_marginal"]


def _inputs(p: Distribution, q: Distribution) -> list[str]:
    own = set(q.var)
    out = list(q.input_var)
    out += [v for v in list(p.var) + list(p.input_var) if v not in own and v not in out]
    return out


def _positive_int(value: Any, name: str, where: str) -> int:
    """An int >= 1; NumPy integers count, booleans do not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputTypeError(f"{where} needs a positive integer {name}, got {value!r}")
    return int(value)


class ELBO(Loss):
    """The evidence lower bound :math:`\\mathbb{E}_{q(z|x)}[\\log p(x,z) - \\log q(z|x)]`.

    A bound: the value to maximise, one per batch element. Train on
    ``-ELBO(p, q).mean()``.

    Args:
        p: the joint generative model, e.g. ``p(x|z) * p(z)``.
        q: the approximate posterior, e.g. ``q(z|x)``.
        sample_shape: samples of ``z`` per batch element (default ``(1,)``).

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[1])
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> # p(x) = N(0, 2); the exact posterior is N(x / 2, 1 / 2), given here m = x / 2
        >>> q = Normal(loc="m", scale=0.5**0.5, var=["z"], cond_var=["m"], name="q")
        >>> data = {"x": torch.zeros(2, 1), "m": torch.zeros(2, 1)}
        >>> from dgmcore.losses import ELBO
        >>> elbo = ELBO(p * prior, q)
        >>> str(elbo)
        'E_{q(z|m)}[log p(x,z) - log q(z|m)]'
        >>> elbo.eval(data)  # the exact posterior: log p(x) = -log(4 pi) / 2
        tensor([-1.2655, -1.2655])
    """

    def __init__(self, p: Distribution, q: Distribution, sample_shape: Iterable[int] | int = (1,)) -> None:
        self.p = check_distribution(p, "ELBO")
        self.q = check_distribution(q, "ELBO")
        self._inner = Expectation(q, LogProb(p) - LogProb(q), sample_shape)
        super().__init__(_inputs(p, q))

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self._inner._eval(x, samples)

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        # -ELBO is E_q[log q - log p]: no negation of its own
        return self._inner._signed(x, samples, prefer_negated)

    def _text(self) -> str:
        return f"E_{{{self.q.prob_text}}}[log {self.p.prob_text} - log {self.q.prob_text}]"

    def _symbolic(self) -> Any:
        return self._inner._symbolic()


class IWELBO(Loss):
    """The importance-weighted bound of Burda, Grosse and Salakhutdinov (2016).

    .. math::
        \\mathcal{L}_k = \\mathbb{E}_{z_{1..k} \\sim q}\\left[\\log \\frac{1}{k}
        \\sum_{i=1}^k \\frac{p(x, z_i)}{q(z_i|x)}\\right]

    Equal to the ELBO at ``k=1``, non-decreasing in ``k`` on average, and
    converging to :math:`\\log p(x)`. One value per batch element. When ``q``
    cannot draw reparameterised samples (a discrete ``q``), the gradient is the
    score-function estimator: the value is unchanged and the gradient gains
    :math:`\\mathcal{L}_k \\nabla \\sum_i \\log q(z_i|x)`, as the ELBO's does.

    Args:
        p: the joint generative model.
        q: the proposal (approximate posterior).
        k: the number of importance samples.

    Raises:
        InputTypeError: ``k`` is not a positive integer (a bool is not one).

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[1])
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> # p(x) = N(0, 2); the exact posterior is N(x / 2, 1 / 2), given here m = x / 2
        >>> q = Normal(loc="m", scale=0.5**0.5, var=["z"], cond_var=["m"], name="q")
        >>> data = {"x": torch.zeros(2, 1), "m": torch.zeros(2, 1)}
        >>> from dgmcore.losses import IWELBO
        >>> iwelbo = IWELBO(p * prior, q, k=10)
        >>> str(iwelbo)
        'IWELBO_10[p(x,z), q(z|m)]'
        >>> iwelbo.eval(data)
        tensor([-1.2655, -1.2655])
    """

    def __init__(self, p: Distribution, q: Distribution, k: int = 5) -> None:
        self.p = check_distribution(p, "IWELBO")
        self.q = check_distribution(q, "IWELBO")
        self.k = k = _positive_int(k, "k", f"IWELBO[{p.prob_text}, {q.prob_text}]")
        self._log_k = math.log(k)
        self._reparam = q.has_reparam
        super().__init__(_inputs(p, q))

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        r = self._reparam
        return _log_mean_weight(self.p, self.q, x, self.k, r, samples, score=not r)

    def _text(self) -> str:
        return f"IWELBO_{self.k}[{self.p.prob_text}, {self.q.prob_text}]"

    def _symbolic(self) -> Any:
        from dgmcore.latex import symbol

        return symbol(
            self._text(),
            f"\\mathbb{{E}}\\left[\\log \\frac{{1}}{{{self.k}}}\\sum_{{i=1}}^{{{self.k}}}"
            f"\\frac{{{self.p.latex}}}{{{self.q.latex}}}\\right]",
        )


def _log_mean_weight(
    p: Distribution,
    q: Distribution,
    x: XDict,
    k: int,
    reparam: bool,
    samples: XDict | None,
    score: bool = False,
) -> torch.Tensor:
    draw = q.sample(x, sample_shape=(k,), return_all=True, reparam=reparam)
    if samples is not None:
        samples.update({v: draw[v] for v in q.var})
    with extra_sample_dims(1):
        log_q = q.get_log_prob(draw)
        log_w = p.get_log_prob(draw) - log_q
    bound = torch.logsumexp(log_w, dim=0) - math.log(k)
    if score:
        # score-function surrogate for draws that carry no gradient (Mnih and Rezende, 2016):
        # same value; the gradient gains L * grad sum_i log q(z_i) beside the pathwise part
        sum_log_q = log_q.sum(dim=0)
        bound = bound + bound.detach() * (sum_log_q - sum_log_q.detach())
    return bound


def log_marginal(
    p: Distribution,
    q: Distribution,
    x_dict: Mapping[str, Any],
    k: int = 1000,
    chunk: int = 100,
) -> torch.Tensor:
    """Importance-sampling estimate of :math:`\\log p(x)` for evaluation.

    Draws ``k`` samples from the proposal ``q`` (in chunks of ``chunk`` to bound
    memory) and returns :math:`\\log \\frac1k \\sum_i p(x,z_i)/q(z_i|x)`, one
    value per batch element, without gradients. This is the likelihood that
    :meth:`Distribution.marginalize_var` cannot give in closed form.

    Args:
        p: the joint model :math:`p(x, z)`.
        q: the proposal :math:`q(z|x)`.
        x_dict: the observed variables.
        k: the number of importance samples.
        chunk: samples drawn at once.

    Returns:
        The estimate, one value per batch element.

    Raises:
        InputTypeError: ``k`` or ``chunk`` is not a positive integer.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[1])
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> # p(x) = N(0, 2); the exact posterior is N(x / 2, 1 / 2), given here m = x / 2
        >>> q = Normal(loc="m", scale=0.5**0.5, var=["z"], cond_var=["m"], name="q")
        >>> data = {"x": torch.zeros(2, 1), "m": torch.zeros(2, 1)}
        >>> from dgmcore.losses import log_marginal
        >>> log_marginal(p * prior, q, data, k=500)
        tensor([-1.2655, -1.2655])
    """
    check_distribution(p, "log_marginal")
    check_distribution(q, "log_marginal")
    where = f"log_marginal({p.prob_text}, {q.prob_text})"
    k, chunk = _positive_int(k, "k", where), _positive_int(chunk, "chunk", where)
    x = check_x_dict(x_dict, q)
    parts = []
    weights = []
    with torch.no_grad(), memo.scope():
        done = 0
        while done < k:
            n = min(chunk, k - done)
            parts.append(_log_mean_weight(p, q, x, n, False, None))
            weights.append(n)
            done += n
    log_n = torch.tensor(weights, dtype=parts[0].dtype, device=parts[0].device).log()
    stacked = torch.stack(parts) + log_n.view(-1, *([1] * parts[0].dim()))
    return torch.logsumexp(stacked, dim=0) - math.log(k)
