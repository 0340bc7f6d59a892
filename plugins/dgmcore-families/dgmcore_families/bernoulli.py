"""Binary families: :class:`Bernoulli` and Pixyz's zero-inflated :class:`FactorizedBernoulli`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import ParameterError, ShapeError

__all__ = ["Bernoulli", "FactorizedBernoulli"]


class Bernoulli(ParametricDistribution):
    """The Bernoulli distribution :math:`p^x (1-p)^{1-x}`, features independent.

    Give exactly one of ``probs`` (:math:`p`) or ``logits`` (:math:`\\log \\frac{p}{1-p}`,
    numerically safer for a decoder's last layer).

    Continuous targets: any :math:`x \\in [0, 1]` is scored with the same formula,
    :math:`x \\log p + (1 - x) \\log(1 - p)` (the negative binary cross-entropy),
    so grey-level images can be used as they are, as Pixyz users do. This is a
    reconstruction score, not a normalised density over :math:`[0, 1]`. Scoring
    works whether or not ``validate_args`` is set. Given ``logits``, targets are
    not checked on the hot path: with the default ``validate_args=False`` a value
    outside :math:`[0, 1]` gives a meaningless score and no error; with
    ``validate_args=True`` it raises :class:`~dgmcore.errors.ShapeError` naming
    the variable. Given ``probs``, the score is torch's
    ``F.binary_cross_entropy`` (each log bounded below by -100), which checks
    the targets and the probabilities in its kernel: a value outside
    :math:`[0, 1]` is always a :class:`~dgmcore.errors.ShapeError`, a
    probability outside it a :class:`~dgmcore.errors.ParameterError`. Samples
    are always 0 or 1.

    Example:
        >>> import torch
        >>> from dgmcore_families import Bernoulli
        >>> p = Bernoulli(probs=0.8, var=["x"], features_shape=[2])
        >>> p.get_log_prob({"x": torch.tensor([[1.0, 0.0]])})  # log 0.8 + log 0.2
        tensor([-1.8326])
        >>> p.get_log_prob({"x": torch.tensor([[0.5, 1.0]])})  # a grey pixel: 0.5 log 0.8 + 0.5 log 0.2
        tensor([-1.1394])
    """

    family = torch.distributions.Bernoulli
    params = ("probs", "logits")

    def make_dist(
        self, params: dict[str, Any], validate_args: bool = False
    ) -> torch.distributions.Distribution:
        """torch's Bernoulli; from one tensor (logits or probs) without its broadcasting pass."""
        if validate_args or len(params) != 1:
            return super().make_dist(params, validate_args)
        name, value = next(iter(params.items()))
        if not isinstance(value, torch.Tensor):
            return super().make_dist(params, validate_args)
        d = torch.distributions.Bernoulli.__new__(torch.distributions.Bernoulli)
        setattr(d, name, value)  # the other one is torch's lazy property, derived when read
        d._param = value
        torch.distributions.Distribution.__init__(d, value.shape, validate_args=False)
        return d

    # dist is built from family: narrowed without a per-call cast
    def log_prob_value(  # type: ignore[override]
        self, dist: torch.distributions.Bernoulli, value: torch.Tensor
    ) -> torch.Tensor:
        """:math:`x \\log p + (1 - x) \\log(1 - p)`, elementwise: minus the binary cross-entropy."""
        return -self.neg_log_prob_value(dist, value)

    def neg_log_prob_value(  # type: ignore[override]
        self, dist: torch.distributions.Bernoulli, value: torch.Tensor
    ) -> torch.Tensor:
        """The binary cross-entropy, *minus* the log-likelihood: the faster view, torch's fused loss.

        Exact for 0/1 values, defined on all of [0, 1]. Losses take it as it is and
        add it where they subtract the log-likelihood (``-ELBO``): no negation.
        """
        # given as probs (a decoder ending with a sigmoid): scored from them, as
        # F.binary_cross_entropy does, rather than through torch's logits
        # (clamp, log, log1p: four more kernels each way on the hot path)
        given = dist.__dict__
        probs = given.get("probs") if "logits" not in given else None
        param = dist.logits if probs is None else probs
        if not value.is_floating_point():
            value = value.to(param.dtype)
        # checked only when asked: a pass over the data on every call would cost time
        if self.validate_args and _outside_unit_interval(value):
            raise _value_error(self, value, " (validate_args=True)")
        if param.shape != value.shape:
            param, value = torch.broadcast_tensors(param, value)
        if probs is None:
            return F.binary_cross_entropy_with_logits(param, value, reduction="none")
        return _bce_of_probs(self, param, value)


def _outside_unit_interval(t: torch.Tensor) -> bool:
    return not bool(((t >= 0) & (t <= 1)).all())


def _value_error(p: Bernoulli, value: torch.Tensor, why: str = "") -> ShapeError:
    """The error for targets outside [0, 1], naming the variable and the range given."""
    return ShapeError(
        f"{p.prob_text}: values of {p.var[0]!r} must lie in [0, 1]{why}, got values from "
        f"{value.min().item():g} to {value.max().item():g}"
    )


def _bce_of_probs(p: Bernoulli, probs: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``-[x log p + (1 - x) log(1 - p)]``; each log bounded below by -100, as in torch's loss.

    torch's distribution instead clamps ``p`` to ``[eps, 1 - eps]``: the two agree
    wherever ``p`` is not within float precision of 0 or 1. torch's loss checks
    that ``p`` and ``x`` lie in [0, 1] in its kernel (at no extra cost), so a
    value outside is an error here whatever ``validate_args`` says.
    """
    try:
        return F.binary_cross_entropy(probs, value, reduction="none")
    except RuntimeError as err:  # torch names neither the distribution nor the variable
        if _outside_unit_interval(value):
            raise _value_error(p, value) from err
        if _outside_unit_interval(probs):
            raise ParameterError(
                f"{p.prob_text} ({type(p).__name__}): probs must lie in [0, 1], got values from "
                f"{probs.min().item():g} to {probs.max().item():g}"
            ) from err
        raise


class FactorizedBernoulli(Bernoulli):
    """A Bernoulli likelihood that ignores the features observed as 0 (zero-inflated).

    .. math::
        \\log p(x) = \\sum_{i : x_i \\neq 0} \\log \\mathrm{Bern}(x_i \\mid p_i)

    Only features with a non-zero value contribute to the log-likelihood, so an
    unobserved attribute (encoded as 0) does not count as a negative observation.
    This is the behaviour of Pixyz's ``FactorizedBernoulli``, after Vedantam et
    al., "Generative Models of Visually Grounded Imagination" (ICLR 2018). It is a
    score, not a normalised density: sampling, mean, variance, entropy and
    analytic KL are those of the :class:`Bernoulli` with the same parameters.

    Example:
        >>> import torch
        >>> from dgmcore_families import FactorizedBernoulli
        >>> p = FactorizedBernoulli(probs=torch.tensor([0.8, 0.5]), var=["a"])
        >>> p.get_log_prob({"a": torch.tensor([[1.0, 0.0]])})  # log 0.8; the 0 is ignored
        tensor([-0.2231])
    """

    def log_prob_value(  # type: ignore[override]  # as Bernoulli's
        self, dist: torch.distributions.Bernoulli, value: torch.Tensor
    ) -> torch.Tensor:
        lp = super().log_prob_value(dist, value)
        return torch.where(value != 0, lp, torch.zeros((), dtype=lp.dtype, device=lp.device))

    def neg_log_prob_value(  # type: ignore[override]  # as Bernoulli's
        self, dist: torch.distributions.Bernoulli, value: torch.Tensor
    ) -> torch.Tensor:
        nlp = super().neg_log_prob_value(dist, value)
        return torch.where(value != 0, nlp, torch.zeros((), dtype=nlp.dtype, device=nlp.device))


# -- analytic KL pairs and entropies -------------------------------------------------------
# torch.distributions.kl has Bernoulli-Bernoulli (and Bernoulli-Poisson).
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
