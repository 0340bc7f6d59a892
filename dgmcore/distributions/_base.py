"""The :class:`Distribution` base class shared by factors and joints: a template.

The public methods (``sample``, ``get_log_prob``, ``get_entropy``, the moments)
check the arguments, raise the missing-variable errors, merge ``return_all`` and
sum the features, once, here; a subclass implements small hooks.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dgmcore.distributions._inputs import XDict, check_x_dict, sample_shape_of, var_list
from dgmcore.errors import DGMError, InputTypeError, MissingVariableError, NoDensityError, ShapeError

if TYPE_CHECKING:
    import networkx

    from dgmcore.losses import LogProb, Prob

__all__ = ["Distribution"]


_NO_SAMPLE_DIMS = torch.Size()
#: The hooks a subclass implements (documented in the class docstring).
HOOKS = ("_draw", "_log_density", "_signed_log_density", "_entropy", "_mean", "_variance")


def _owner(cls: type, name: str) -> type:
    """The class in ``cls``'s MRO that defines ``name``."""
    return next(k for k in cls.__mro__ if name in k.__dict__)


def fast_view(cls: type, fast: str, slow: str, base: type) -> bool:
    """Whether ``cls``'s optional ``fast`` view may stand for its required ``slow`` method.

    Only when ``fast`` is overridden (not ``base``'s default) at or below the
    class that defines ``slow``: a subclass that overrides ``slow`` alone is
    never bypassed by a view its parent wrote for another ``slow``.
    """
    owner = _owner(cls, fast)
    return owner is not base and issubclass(owner, _owner(cls, slow))


class Distribution(nn.Module):
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
        super().__init__()
        cls = type(self)
        draws = _owner(cls, "_draw") is not Distribution or _owner(cls, "sample") is not Distribution
        if draws and _owner(cls, "has_reparam") is Distribution:
            raise DGMError(
                f"{cls.__name__} draws samples but does not declare has_reparam: set the class "
                "attribute has_reparam = True (its samples carry gradients to the parameters) "
                "or False (Expectation then uses the score-function estimator)"
            )
        self._var = var_list(var, "var")
        if not self._var:
            raise InputTypeError("var must name at least one variable, got an empty list")
        self._cond_var = var_list(cond_var, "cond_var")
        both = set(self._var) & set(self._cond_var)
        if both:
            raise InputTypeError(
                f"a variable cannot be both generated and conditioned on: {sorted(both)}"
            )
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"name must be a non-empty string, got {name!r}")
        self._name = name
        self._features_shape = _features_shape(features_shape)
        self.memo = memo
        # which view of the density the template calls, fixed per class (see fast_view)
        self._signed_view = fast_view(cls, "_signed_log_density", "_log_density", Distribution)
        # a subclass's own public get_log_prob (or, alone, get_signed_log_prob) is never bypassed:
        # the other public method calls it, and the base methods reached through super() do not loop
        self._own_log_prob = _owner(cls, "get_log_prob") is not Distribution
        self._own_signed = not self._own_log_prob and _owner(cls, "get_signed_log_prob") is not Distribution

    # -- names -----------------------------------------------------------------
    @property
    def var(self) -> list[str]:
        """The variables this distribution generates."""
        return list(self._var)

    @property
    def cond_var(self) -> list[str]:
        """The variables this distribution conditions on."""
        return list(self._cond_var)

    @property
    def input_var(self) -> list[str]:
        """The variables :meth:`sample` needs in ``x_dict``."""
        return list(self._cond_var)

    @property
    def name(self) -> str:
        """The name used in formulas (``p`` in ``p(x|z)``)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise InputTypeError(f"name must be a non-empty string, got {value!r}")
        self._name = value

    @property
    def has_reparam(self) -> bool:
        """Whether :meth:`sample` can draw reparameterised samples.

        Declared (a class attribute or a property) by every class that draws;
        this default counts as undeclared (see "Subclass requirements").
        """
        return False

    @property
    def distribution_name(self) -> str:
        """Human-readable family name; the class name unless a subclass sets it."""
        return type(self).__name__

    @property
    def features_shape(self) -> torch.Size:
        """Shape of one sample without batch/sample dimensions (``()`` if unknown)."""
        return self._features_shape

    # -- text --------------------------------------------------------------------
    @property
    def prob_text(self) -> str:
        """The formula, e.g. ``p(x,z|y)``."""
        text = f"{self._name}({','.join(self._var)}"
        if self._cond_var:
            text += "|" + ",".join(self._cond_var)
        return text + ")"

    @property
    def prob_factorized_text(self) -> str:
        """The factorised formula, e.g. ``p(x|z)p(z)`` (a single factor: its formula)."""
        return self.prob_text

    @property
    def latex(self) -> str:
        """LaTeX of the factorised formula, rendered with sympy."""
        from dgmcore.latex import distribution_latex

        return distribution_latex(self)

    def print_latex(self) -> None:
        """Print :attr:`latex`."""
        print(self.latex)

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    def __str__(self) -> str:
        formula = self.prob_factorized_text
        if formula != self.prob_text:  # a joint: "p(x,z) = p(x|z)p(z)", as Pixyz prints it
            formula = f"{self.prob_text} = {formula}"
        lines = ["Distribution:", f"  {formula}"]
        arch = self._architecture()
        if arch:
            lines.append("Network architecture:")
            lines.extend("  " + line for line in arch)
        return "\n".join(lines)

    def _architecture(self) -> list[str]:
        """Lines describing each factor: its family and its networks."""
        head = f"{self.distribution_name}(name={self._name}, var={self.var}, "
        head += f"cond_var={self.cond_var}, features_shape={tuple(self._features_shape)})"
        lines = [head]
        for child_name, child in self.named_children():
            sub = repr(child).splitlines()
            lines.append(f"  ({child_name}): {sub[0]}")
            lines.extend("  " + s for s in sub[1:])
        return lines

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
        shape = self._sample_shape(sample_shape)
        if batch_n is not None:
            self._check_batch_n(batch_n)
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
        return self._reduce(values, n, sum_features, feature_dims), negated

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
        return self._reduce(values, n, sum_features, feature_dims)

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
        import networkx as nx

        g = nx.DiGraph()
        for f in self.factors():
            for c in f.cond_var:
                if c not in g:
                    g.add_node(c)
            for v in f.var:
                g.add_node(v, factor=f)
                for c in f.cond_var:
                    g.add_edge(c, v)
        return g

    # -- checks shared by the template -----------------------------------------------
    def _reduce(
        self, values: torch.Tensor, n: int, sum_features: bool, feature_dims: Sequence[int] | None
    ) -> torch.Tensor:
        """Sum the ``n`` trailing feature dims of ``values`` (or ``feature_dims`` among them)."""
        if not sum_features:
            return values
        if feature_dims is not None:
            dims = self._feature_dims(feature_dims, values.dim(), n)
            return values.sum(dim=dims) if dims else values
        if n == 1:  # the common case: an int dim parses faster than a tuple
            return values.sum(-1)
        if n:
            return values.sum(dim=tuple(range(-n, 0)))
        return values

    def _feature_dims(self, feature_dims: Any, ndim: int, n: int) -> tuple[int, ...]:
        """``feature_dims`` as negative dims, each one of the ``n`` feature dims (failure: ShapeError)."""
        if isinstance(feature_dims, numbers.Integral) and not isinstance(feature_dims, bool):
            feature_dims = (int(feature_dims),)
        try:
            items = tuple(feature_dims)
        except TypeError:
            items = (None,)
        if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) for d in items):
            raise InputTypeError(
                f"{self.prob_text}: feature_dims must be a list of ints, got {feature_dims!r}"
            )
        dims = tuple(int(d) - ndim if d >= 0 else int(d) for d in items)
        if any(not -n <= d < 0 for d in dims):
            raise ShapeError(
                f"{self.prob_text}: feature_dims {list(feature_dims)} must name feature dimensions; "
                f"of the {ndim} dimensions of its values the features are the last {n} "
                f"({list(range(ndim - n, ndim))}); summing the others would sum over the batch"
            )
        if len(set(dims)) != len(dims):
            raise ShapeError(f"{self.prob_text}: feature_dims {list(feature_dims)} names a dimension twice")
        return dims

    def _sample_shape(self, sample_shape: Sequence[int] | torch.Size | int) -> torch.Size:
        """``sample_shape`` as a ``torch.Size``; an int ``n`` means ``(n,)``."""
        if sample_shape == ():
            return _NO_SAMPLE_DIMS
        if isinstance(sample_shape, torch.Size) and (not sample_shape or min(sample_shape) >= 1):
            return sample_shape
        return sample_shape_of(sample_shape, self.prob_text)  # type: ignore[arg-type]

    def _check_batch_n(self, batch_n: Any) -> None:
        """Raise unless ``batch_n`` (given, not ``None``) is a positive int."""
        if (
            not isinstance(batch_n, numbers.Integral)
            or isinstance(batch_n, bool)
            or batch_n < 1
        ):
            raise InputTypeError(
                f"{self.prob_text}: batch_n must be a positive int, got {batch_n!r}"
            )

    def _missing(self, err: KeyError, x_dict: Mapping[str, Any]) -> MissingVariableError:
        if isinstance(err, MissingVariableError):
            return err
        return MissingVariableError(str(err.args[0]) if err.args else "?", self.prob_text, x_dict)

    def _inputs(self, x_dict: XDict) -> dict[str, Any]:
        try:
            return {v: x_dict[v] for v in self._cond_var}
        except KeyError as err:
            raise self._missing(err, x_dict) from None


def _features_shape(features_shape: Any) -> torch.Size:
    """A checked ``features_shape``: a sequence of positive ints."""
    try:
        shape = torch.Size(features_shape)
    except TypeError:
        raise ShapeError(f"features_shape must be a sequence of ints, got {features_shape!r}") from None
    if any(s < 1 for s in shape):
        raise ShapeError(f"features_shape must be positive sizes, got {tuple(shape)}")
    return shape
