"""Continuous relaxations of discrete families: :class:`RelaxedBernoulli`, :class:`RelaxedOneHotCategorical`.

Both are scored with their own (concrete) densities, never with the density of
the discrete family they relax. :class:`RelaxedCategorical` is Pixyz's class of
that name, for code ported from Pixyz: relaxed samples, scored as the discrete
family (see its docstring). The concrete density itself is in
:mod:`dgmcore_families.concrete`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import InputTypeError, NoDensityError, ParameterError, ValueRangeError
from dgmcore_families.concrete import ConcreteDist

__all__ = ["RelaxedBernoulli", "RelaxedCategorical", "RelaxedOneHotCategorical"]


def _check_temperature(owner: str, value: Any) -> None:
    """A temperature given as a number or tensor must be positive (it divides the logits)."""
    if isinstance(value, (numbers.Number, torch.Tensor)) and not isinstance(value, bool):
        t = torch.as_tensor(value).detach()
        if not (t.is_floating_point() and bool((t > 0).all())):
            raise ParameterError(f"{owner}: parameter temperature must be a float > 0, got {value!r}")


_METHOD = {"mean": "mean", "variance": "var"}


class _Relaxed(ParametricDistribution):
    """Shared by the relaxed families: the temperature check, and no closed-form moments."""

    defaults = {"temperature": 0.5}

    def setup(self) -> None:
        # a constant temperature is checked once; one from an input or forward when validated
        _check_temperature(f"{self.prob_text} ({type(self).__name__})", getattr(self, "temperature", None))

    def make_dist(
        self, params: dict[str, Any], validate_args: bool = False
    ) -> torch.distributions.Distribution:
        if validate_args:  # a temperature from an input or forward (constants: at construction)
            _check_temperature(f"{self.prob_text} ({type(self).__name__})", params.get("temperature"))
        return self.family(**params, validate_args=validate_args)

    def _no_moment(self, what: str) -> NoDensityError:
        return NoDensityError(
            f"{self.prob_text} ({type(self).__name__}) has no closed-form {what}; estimate it from "
            f"samples, e.g. p.sample(x_dict, sample_shape=(1000,))[{self.var[0]!r}].{_METHOD[what]}(0)"
        )

    def sample_mean(self, x_dict: dict[str, Any] | None = None) -> torch.Tensor:
        raise self._no_moment("mean")

    def sample_variance(self, x_dict: dict[str, Any] | None = None) -> torch.Tensor:
        raise self._no_moment("variance")

    def _check_value(self, value: torch.Tensor) -> None:
        if not value.is_floating_point():
            raise InputTypeError(
                f"{self.prob_text} ({type(self).__name__}): {self.var[0]!r} must be a floating-point "
                f"tensor (a relaxed sample), got dtype {value.dtype}"
            )


class RelaxedBernoulli(_Relaxed):
    """The binary concrete distribution on :math:`(0, 1)` (Maddison et al. 2017; Jang et al. 2017).

    A reparameterisable relaxation of :class:`~dgmcore_families.Bernoulli`:
    ``temperature`` :math:`\\tau > 0` (default 0.1, as in Pixyz; smaller is closer to
    0/1 samples; its densities stay finite there, as torch computes them on the
    logit scale) and one of ``probs`` or ``logits``. The log-density is the
    concrete density of the relaxed sample. It has no closed-form mean,
    variance or entropy (asking raises :class:`~dgmcore.errors.NoDensityError`;
    use Monte-Carlo estimates).

    Example:
        >>> import torch
        >>> from dgmcore_families import RelaxedBernoulli
        >>> p = RelaxedBernoulli(temperature=0.5, probs=torch.tensor([0.3, 0.9]), var=["b"])
        >>> b = p.sample(batch_n=4, reparam=True)["b"]
        >>> b.shape, bool(((b > 0) & (b < 1)).all())
        (torch.Size([4, 2]), True)
        >>> p.get_log_prob({"b": torch.tensor([[0.5, 0.5]])})  # log 2p(1-p), summed
        tensor([-2.5823])
    """

    family = torch.distributions.RelaxedBernoulli
    params = ("temperature", "probs", "logits")
    defaults = {"temperature": 0.1}

    def log_prob_value(self, dist: torch.distributions.Distribution, value: torch.Tensor) -> torch.Tensor:
        self._check_value(value)
        return dist.log_prob(value)


class RelaxedOneHotCategorical(_Relaxed):
    """The concrete (Gumbel-softmax) distribution on the simplex (Maddison et al. 2017; Jang et al. 2017).

    A reparameterisable relaxation of :class:`~dgmcore_families.OneHotCategorical`:
    ``temperature`` :math:`\\tau > 0` (a scalar per distribution) and one of
    ``probs`` or ``logits`` (last dimension K, which ends ``features_shape``).
    Samples are points of the open simplex; the log-density is the concrete
    density (:class:`~dgmcore_families.concrete.ConcreteDist`), computed in log
    space so that it and its gradients stay finite for the distribution's own
    samples at any temperature.

    The default temperature is 0.5, the value Jang et al. (2017) anneal to: at
    Pixyz's 0.1 most coordinates of a sample over 10 classes are below
    :math:`10^{-35}` and are raised to that floor (see ``ConcreteDist``), where
    the density no longer tells the samples apart. A value with a coordinate
    :math:`\\le 0`, such as a one-hot label, lies outside the support and raises
    :class:`~dgmcore.errors.ValueRangeError`: score labels with
    :class:`~dgmcore_families.OneHotCategorical`, or use
    :class:`RelaxedCategorical`, which scores as Pixyz does. It has no
    closed-form mean, variance or entropy.

    Example:
        >>> import torch
        >>> from dgmcore_families import RelaxedOneHotCategorical
        >>> p = RelaxedOneHotCategorical(temperature=0.5, probs=torch.tensor([0.2, 0.3, 0.5]), var=["y"])
        >>> y = p.sample(batch_n=2, reparam=True)["y"]
        >>> y.shape, torch.allclose(y.sum(-1), torch.ones(2))
        (torch.Size([2, 3]), True)
        >>> p.get_log_prob({"y": torch.tensor([[0.2, 0.3, 0.5]])})
        tensor([-0.5354])
    """

    family = ConcreteDist
    params = ("temperature", "probs", "logits")

    def log_prob_value(self, dist: torch.distributions.Distribution, value: torch.Tensor) -> torch.Tensor:
        self._check_value(value)
        if bool((value <= 0).any()):  # one O(n) pass: a NaN would otherwise pass silently
            raise ValueRangeError(
                f"{self.prob_text} (RelaxedOneHotCategorical): {self.var[0]!r} has coordinates <= 0 "
                f"(smallest {value.min().item():.3g}), on the boundary of the open simplex where the "
                "concrete density is not defined; score one-hot labels with OneHotCategorical (or use "
                "RelaxedCategorical, which scores them as Pixyz does)"
            )
        return dist.log_prob(value)


class RelaxedCategorical(_Relaxed):
    """Pixyz's ``RelaxedCategorical``: relaxed one-hot samples, scored as the categorical they relax.

    Sampling draws from the concrete distribution (reparameterisable, as
    :class:`RelaxedOneHotCategorical`, default temperature 0.1 as in Pixyz).
    Everything else is that of the discrete family, exactly as in Pixyz 0.3.3,
    whose code this class exists to run unchanged (examples/m2): a value
    :math:`y` (a one-hot label or a relaxed sample) is scored with Pixyz's
    likelihood, independent Bernoullis per coordinate,

    .. math:: \\log p(y) = \\sum_k y_k \\log p_k + (1 - y_k) \\log (1 - p_k),

    the mean is :math:`p` and the variance :math:`p (1 - p)`. The score is
    therefore not the density of the samples drawn; for that density use
    :class:`RelaxedOneHotCategorical`.

    Example:
        >>> import torch
        >>> from dgmcore_families import RelaxedCategorical
        >>> f = RelaxedCategorical(probs=torch.tensor([0.2, 0.3, 0.5]), var=["y"])
        >>> f.get_log_prob({"y": torch.tensor([[0.0, 0.0, 1.0]])})  # log 0.8 + log 0.7 + log 0.5
        tensor([-1.2730])
        >>> f.sample_mean()
        tensor([0.2000, 0.3000, 0.5000])
        >>> f.sample(batch_n=2, reparam=True)["y"].shape
        torch.Size([2, 3])
    """

    family = ConcreteDist
    params = ("temperature", "probs", "logits")
    defaults = {"temperature": 0.1}

    def log_prob_value(self, dist: torch.distributions.Distribution, value: torch.Tensor) -> torch.Tensor:
        self._check_value(value)
        p = dist.probs  # type: ignore[attr-defined]
        return (torch.xlogy(value, p) + torch.xlogy(1 - value, 1 - p)).sum(-1)

    def sample_mean(self, x_dict: dict[str, Any] | None = None) -> torch.Tensor:
        return self.get_dist(x_dict).probs  # type: ignore[attr-defined,no-any-return]

    def sample_variance(self, x_dict: dict[str, Any] | None = None) -> torch.Tensor:
        p = self.get_dist(x_dict).probs  # type: ignore[attr-defined]
        return p * (1 - p)  # type: ignore[no-any-return]


# -- analytic KL pairs and entropies -------------------------------------------------------
# The concrete distributions have no closed-form KL or entropy.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
