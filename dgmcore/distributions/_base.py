"""The :class:`Distribution` base class shared by factors and joints: a template.

The public methods (``sample``, ``get_log_prob``, ``get_entropy``, the moments)
check the arguments, raise the missing-variable errors, merge ``return_all`` and
sum the features, once, here; a subclass implements small hooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from dgmcore.distributions._inputs import XDict, as_sample_shape, check_batch_n, check_x_dict, reduce_features
from dgmcore.distributions._named import Named
from dgmcore.distributions._views import fast_view, overrides
from dgmcore.errors import DGMError, MissingVariableError, NoDensityError

if TYPE_CHECKING:
    import networkx

    from dgmcore.losses import LogProb, Prob

__all__ = ["Distribution"]


class Distribution(Named):
    """Base class of every dgmcore distribution (a ``torch.nn.Module``).

    A distribution generates the variables ``var`` given the conditioning
    variables ``cond_var``. Samples and observations are plain dicts keyed by
    variable name, every tensor with its batch dimension first (and sample
    dimensions, if any, in front of the batch dimension).

    The public methods are a template: :meth:`sample`, :meth:`get_log_prob`,
    :meth:`get_entropy`, :meth:`sample_mean` and :meth:`sample_variance` check
    ``x_dict``, ``sample_shape``, ``batch_n`` and ``feature_dims``, turn a
    missing variable into :class:`~dgmcore.errors.MissingVariableError`, merge
    ``return_all`` and sum the feature dimensions. A subclass implements hooks
    that receive a checked ``x_dict`` (a plain dict) and may index it freely:

    Subclass requirements:
        * ``has_reparam`` (a class attribute or property): whether :meth:`_draw`
          can draw reparameterised samples. Every class that implements
          :meth:`_draw` declares it, since :class:`~dgmcore.losses.Expectation`
          chooses between the pathwise and the score-function gradient by it;
          a class that leaves it undeclared is refused at construction.
        * :meth:`_draw` ``(x_dict, batch_n, sample_shape, reparam) -> {var: tensor}``:
          the new samples only. ``sample_shape`` is a checked ``torch.Size``;
          ``batch_n`` is a positive int or None; ``reparam`` is True only when
          ``has_reparam``.
        * for a density, :meth:`_log_density` ``(x_dict) -> (values, n)``: the
          log density of ``x_dict[var]``, elementwise, with its ``n`` trailing
          feature dimensions not yet summed (``n = 0`` for one value per sample).

    Optional hooks: :meth:`_signed_log_density` (a faster view of the density
    that may come negated, e.g. a binary cross-entropy), :meth:`_entropy`
    (``(values, n)`` like the density), :meth:`_mean`, :meth:`_variance`;
    :meth:`get_params` (memoize it with :func:`dgmcore.memo.cached`);
    :meth:`get_dist` and :meth:`feature_ndim` (the ``torch.distributions``
    object that analytic KL divergences and entropies are computed from).
    ``distribution_name`` defaults to the class name. Parametric families
    subclass :class:`~dgmcore.distributions.ParametricDistribution` instead,
    which implements every hook from ``family`` and ``params``.

    Args:
        var: the variables this distribution generates.
        cond_var: the variables it conditions on.
        name: the name used in formulas, e.g. ``"q"`` gives ``q(z|x)``.
        features_shape: the shape of one sample of ``var`` without batch and
            sample dimensions; ``()`` means "infer it from the parameters".
        memo: whether :mod:`dgmcore.memo` may reuse this distribution's
            parameters within one evaluation (switch off for dropout).

    Example:
        A non-parametric distribution written from scratch, the uniform
        distribution on a box :math:`[0, w]^d`:

        >>> import math, torch
        >>> from dgmcore.distributions import Distribution
        >>> class Box(Distribution):
        ...     has_reparam = True
        ...     def __init__(self, width, dim):
        ...         super().__init__(var=["u"], features_shape=[dim])
        ...         self.width = width
        ...     def _draw(self, x_dict, batch_n, sample_shape, reparam):
        ...         shape = (*sample_shape, batch_n or 1, *self.features_shape)
        ...         return {"u": self.width * torch.rand(shape)}
        ...     def _log_density(self, x_dict):
        ...         u = x_dict["u"]
        ...         inside = (u >= 0) & (u <= self.width)
        ...         return torch.where(inside, -math.log(self.width), -math.inf), 1
        >>> box = Box(2.0, 3)
        >>> box.sample(batch_n=4)["u"].shape
        torch.Size([4, 3])
        >>> box.get_log_prob({"u": torch.ones(4, 3)})  # 3 log(1/2)
        tensor([-2.0794, -2.0794, -2.0794, -2.0794])
        >>> box.distribution_name
        'Box'
    """


    def __init__(
        self,
        var: str | Sequence[str],
        cond_var: str | Sequence[str] = (),
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
        memo: bool = True,
    ) -> None:
        super().__init__(var, cond_var, name, features_shape)
        cls = type(self)
        draws = overrides(cls, "_draw", Distribution) or overrides(cls, "sample", Distribution)
        if draws and not overrides(cls, "has_reparam", Distribution):
            raise DGMError(
                f"{cls.__name__} draws samples but does not declare has_reparam: set the class "
                "attribute has_reparam = True (its samples carry gradients to the parameters) "
                "or False (Expectation then uses the score-function estimator)"
            )
        self.memo = memo
        # which view of the density the template calls, fixed per class (see fast_view)
        self._signed_view = fast_view(cls, "_signed_log_density", "_log_density", Distribution)
        # a subclass's own public get_log_prob (or, alone, get_signed_log_prob) is never bypassed:
        # the other public method calls it, and the base methods reached through super() do not loop
        self._own_log_prob = overrides(cls, "get_log_prob", Distribution)
        self._own_signed = not self._own_log_prob and overrides(cls, "get_signed_log_prob", Distribution)

    @property
    def has_reparam(self) -> bool:
        """Whether :meth:`sample` can draw reparameterised samples.

        Declared (a class attribute or a property) by every class that draws;
        this default counts as undeclared (see "Subclass requirements").
        """
        return False

    # -- the public template -------------------------------------------------------
    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
    ) -> XDict:
        """Draw samples of :attr:`var`.

        Args:
            x_dict: values of the conditioning variables (and of anything else,
                returned unchanged when ``return_all``).
            batch_n: the batch size when nothing in ``x_dict`` fixes it (else 1).
            sample_shape: sample dimensions put in front of the batch dimension.
            return_all: return ``x_dict``'s entries too, not only the new samples.
            reparam: draw reparameterised samples (gradients flow through them).

        Returns:
            A dict of tensors keyed by variable name.

        Raises:
            MissingVariableError: a conditioning variable is not in ``x_dict``.
            DGMError: ``reparam=True`` for a distribution without reparameterised samples.
        """
        x = check_x_dict(x_dict, self)
        shape = as_sample_shape(sample_shape, self)
        if batch_n is not None:
            check_batch_n(batch_n, self)
        if reparam and not self.has_reparam:
            raise DGMError(
                f"{self.prob_text} ({self.distribution_name}) cannot draw reparameterised "
                "samples; pass reparam=False"
            )
        try:
            new = self._draw(x, batch_n, shape, reparam)
        except KeyError as err:
            raise self._missing(err, x) from None
        if return_all:
            out = dict(x)
            out.update(new)
            return out
        return new

    def get_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Log density of ``x_dict[var]`` given the conditioning variables.

        Returns one value per sample, of shape ``sample_shape + (batch,)``,
        when ``sum_features``; else the elementwise log densities.
        ``feature_dims`` sums only those dimensions (each one of the feature
        dimensions; ``[]`` sums none).
        """
        x = check_x_dict(x_dict, self)
        if self._own_signed:  # a subclass's own signed view is never bypassed
            value, negated = self.get_signed_log_prob(x, sum_features, feature_dims)
        else:
            value, negated = self._density(x, sum_features, feature_dims, False)
        return -value if negated else value

    def get_signed_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
        prefer_negated: bool = False,
    ) -> tuple[torch.Tensor, bool]:
        """``(value, negated)``: the log density, or its negative when ``negated``.

        What losses call: a family that scores with a negative log-likelihood
        (a Bernoulli's binary cross-entropy) gives it as it is, flagged, so
        that ``-ELBO`` or ``KL - E[log p]`` adds it instead of negating it.
        ``prefer_negated`` says which sign the caller would rather have; a
        distribution may ignore it. It comes from :meth:`_signed_log_density`
        where a class provides one, else from :meth:`_log_density`.
        """
        x = check_x_dict(x_dict, self)
        if self._own_log_prob:  # a subclass's own get_log_prob is never bypassed
            return self.get_log_prob(x, sum_features, feature_dims), False
        return self._density(x, sum_features, feature_dims, prefer_negated)

    def _density(
        self, x: XDict, sum_features: bool, feature_dims: Sequence[int] | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        try:
            if self._signed_view:
                values, n, negated = self._signed_log_density(x, prefer_negated)
            else:
                (values, n), negated = self._log_density(x), False
        except KeyError as err:
            raise self._missing(err, x) from None
        return reduce_features(values, n, sum_features, feature_dims, self), negated

    def get_entropy(
        self,
        x_dict: XDict | None = None,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Entropy of the distribution given the conditioning variables."""
        x = check_x_dict(x_dict, self)
        try:
            values, n = self._entropy(x)
        except KeyError as err:
            raise self._missing(err, x) from None
        return reduce_features(values, n, sum_features, feature_dims, self)

    def sample_mean(self, x_dict: XDict | None = None) -> torch.Tensor:
        """The mean of :attr:`var` given the conditioning variables."""
        x = check_x_dict(x_dict, self)
        try:
            return self._mean(x)
        except KeyError as err:
            raise self._missing(err, x) from None

    def sample_variance(self, x_dict: XDict | None = None) -> torch.Tensor:
        """The variance of :attr:`var` given the conditioning variables."""
        x = check_x_dict(x_dict, self)
        try:
            return self._variance(x)
        except KeyError as err:
            raise self._missing(err, x) from None

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        """The parameters given the conditioning variables (memoized where a class memoizes)."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no parameters")

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Distribution:
        """The ``torch.distributions`` object for the given conditioning variables."""
        raise NoDensityError(
            f"{self.prob_text} ({self.distribution_name}) is not a torch.distributions family"
        )

    def feature_ndim(self, dist: torch.distributions.Distribution) -> int:
        """How many trailing batch dims of ``dist`` (from :meth:`get_dist`) are features."""
        return max(len(self.features_shape) - len(dist.event_shape), 0)

    @property
    def unwrapped(self) -> Distribution:
        """The distribution under any variable renaming (itself for most)."""
        return self

    def factors(self) -> list[Distribution]:
        """The factors of this distribution (``[self]`` unless it is a joint)."""
        return [self]

    # -- the hooks (see "Subclass requirements") -----------------------------------
    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        """The new samples of :attr:`var` (only those), as a dict."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _draw()")

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        """``(values, n)``: elementwise log densities with ``n`` trailing feature dims."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no density")

    def _signed_log_density(self, x_dict: XDict, prefer_negated: bool) -> tuple[torch.Tensor, int, bool]:
        """``(values, n, negated)``: an optional faster view of :meth:`_log_density`.

        Used only where it is defined at or below the class that defines
        :meth:`_log_density`; this default is never called by the template.
        """
        values, n = self._log_density(x_dict)
        return values, n, False

    def _entropy(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        """``(values, n)``: elementwise entropies with ``n`` trailing feature dims."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no entropy")

    def _mean(self, x_dict: XDict) -> torch.Tensor:
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no mean")

    def _variance(self, x_dict: XDict) -> torch.Tensor:
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no variance")

    # -- loss builders -------------------------------------------------------------
    def log_prob(self, sum_features: bool = True, feature_dims: Sequence[int] | None = None) -> LogProb:
        """The loss term :math:`\\log p(x|z)` (a :class:`~dgmcore.losses.LogProb`)."""
        from dgmcore.losses import LogProb

        return LogProb(self, sum_features=sum_features, feature_dims=feature_dims)

    def prob(self, sum_features: bool = True, feature_dims: Sequence[int] | None = None) -> Prob:
        """The loss term :math:`p(x|z)` (a :class:`~dgmcore.losses.Prob`)."""
        from dgmcore.losses import Prob

        return Prob(self, sum_features=sum_features, feature_dims=feature_dims)

    # -- the joint graph -----------------------------------------------------------
    def __mul__(self, other: Distribution) -> Distribution:
        if not isinstance(other, Distribution):
            return NotImplemented
        from dgmcore.distributions._joint import JointDistribution

        return JointDistribution([self, other])

    def marginalize_var(self, var: str | Sequence[str]) -> Distribution:
        """Marginalise ``var`` out: sampling draws it and drops it."""
        from dgmcore.distributions._joint import JointDistribution, MarginalizedDistribution

        joint = self if isinstance(self, JointDistribution) else JointDistribution([self])
        return MarginalizedDistribution(joint, var)

    def replace_var(self, **names: str) -> Distribution:
        """Rename variables: ``p.replace_var(z="z_t")`` (everywhere in a joint)."""
        from dgmcore.distributions._replace import ReplacedVarDistribution

        return ReplacedVarDistribution(self, names)

    @property
    def graph(self) -> networkx.DiGraph:
        """The networkx DiGraph of the variables.

        Nodes are variable names; an edge ``u -> v`` means the factor of ``v``
        conditions on ``u``; the node attribute ``factor`` is the distribution
        generating that variable (absent for inputs).
        """
        from dgmcore.distributions._joint import graph_of

        return graph_of(self.factors())

    # -- errors shared by the template ---------------------------------------------
    def _missing(self, err: KeyError, x_dict: Mapping[str, Any]) -> MissingVariableError:
        if isinstance(err, MissingVariableError):
            return err
        return MissingVariableError(str(err.args[0]) if err.args else "?", self.prob_text, x_dict)

    def _inputs(self, x_dict: XDict) -> dict[str, Any]:
        try:
            return {v: x_dict[v] for v in self._cond_var}
        except KeyError as err:
            raise self._missing(err, x_dict) from None

