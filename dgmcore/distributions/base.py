"""The :class:`Distribution` base class shared by factors and joints."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dgmcore.distributions.inputs import XDict, check_x_dict, sample_shape_of, var_list
from dgmcore.errors import InputTypeError, MissingVariableError, NoDensityError, ShapeError

if TYPE_CHECKING:
    import networkx

    from dgmcore.losses import LogProb, Prob

# the argument checks live in dgmcore.distributions.inputs; importable from here as well
__all__ = ["Distribution", "XDict", "check_x_dict", "sample_shape_of", "var_list"]


_NO_SAMPLE_DIMS = torch.Size()


class Distribution(nn.Module):
    """Base class of every dgmcore distribution (a ``torch.nn.Module``).

    A distribution generates the variables ``var`` given the conditioning
    variables ``cond_var``. Samples and observations are plain dicts keyed by
    variable name, every tensor with its batch dimension first (and sample
    dimensions, if any, in front of the batch dimension).

    Subclass requirements: a concrete distribution implements :meth:`sample`
    and, if it has a density, :meth:`get_log_prob`. Parametric families should
    subclass :class:`~dgmcore.distributions.ParametricDistribution` instead,
    which implements everything from ``family`` and ``params``.

    Args:
        var: the variables this distribution generates.
        cond_var: the variables it conditions on.
        name: the name used in formulas, e.g. ``"q"`` gives ``q(z|x)``.
        features_shape: the shape of one sample of ``var`` without batch and
            sample dimensions; ``()`` means "infer it from the parameters".
        memo: whether :mod:`dgmcore.memo` may reuse this distribution's
            parameters within one evaluation (switch off for dropout).
    """

    #: Human-readable family name, e.g. ``"Normal"``.
    distribution_name: str = "Distribution"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _derive_log_prob(cls)

    def __init__(
        self,
        var: str | Sequence[str],
        cond_var: str | Sequence[str] = (),
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
        memo: bool = True,
    ) -> None:
        super().__init__()
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
        try:
            self._features_shape = torch.Size(features_shape)
        except TypeError:
            raise ShapeError(
                f"features_shape must be a sequence of ints, got {features_shape!r}"
            ) from None
        self.memo = memo

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
        children = list(self.named_children())
        head = f"{self.distribution_name}(name={self._name}, var={self.var}, "
        head += f"cond_var={self.cond_var}, features_shape={tuple(self._features_shape)})"
        lines = [head]
        for child_name, child in children:
            sub = repr(child).splitlines()
            lines.append(f"  ({child_name}): {sub[0]}")
            lines.extend("  " + s for s in sub[1:])
        return lines

    # -- the distribution API (overridden by subclasses) ------------------------
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
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement sample()")

    def get_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Log density of ``x_dict[var]`` given the conditioning variables.

        Returns one value per sample, of shape ``sample_shape + (batch,)``,
        when ``sum_features``; else the elementwise log densities. A subclass
        implements this or :meth:`get_signed_log_prob`; the other is derived.
        """
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no density")

    def get_signed_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
        prefer_negated: bool = False,
    ) -> tuple[torch.Tensor, bool]:
        """``(value, negated)``: the log density, or its negative when ``negated``.

        The sign a distribution computes most cheaply: a family that scores
        with a negative log-likelihood (the binary cross-entropy of a
        Bernoulli) returns it as it is, flagged ``negated``, so that a loss
        that subtracts it (``-ELBO``, ``KL - E[log p]``) adds it instead and no
        negation enters the graph. ``prefer_negated`` says which sign the
        caller would rather have; a distribution may ignore it. The default
        is :meth:`get_log_prob`, not negated.
        """
        return self.get_log_prob(x_dict, sum_features, feature_dims), False

    def get_entropy(
        self,
        x_dict: XDict | None = None,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Entropy of the distribution given the conditioning variables."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no entropy")

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        """The parameters given the conditioning variables (memoized)."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no parameters")

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Distribution:
        """The ``torch.distributions`` object for the given conditioning variables."""
        raise NoDensityError(
            f"{self.prob_text} ({self.distribution_name}) is not a torch.distributions family"
        )

    def sample_mean(self, x_dict: XDict | None = None) -> torch.Tensor:
        """The mean of :attr:`var` given the conditioning variables."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no mean")

    def sample_variance(self, x_dict: XDict | None = None) -> torch.Tensor:
        """The variance of :attr:`var` given the conditioning variables."""
        raise NoDensityError(f"{self.prob_text} ({self.distribution_name}) has no variance")

    def feature_ndim(self, dist: torch.distributions.Distribution) -> int:
        """How many trailing batch dims of ``dist`` (from :meth:`get_dist`) are features."""
        return max(len(self.features_shape) - len(dist.event_shape), 0)

    @property
    def has_reparam(self) -> bool:
        """Whether :meth:`sample` can draw reparameterised samples."""
        return False

    @property
    def unwrapped(self) -> Distribution:
        """The distribution under any variable renaming (itself for most)."""
        return self

    def factors(self) -> list[Distribution]:
        """The factors of this distribution (``[self]`` unless it is a joint)."""
        return [self]

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
        from dgmcore.distributions.joint import JointDistribution

        return JointDistribution([self, other])

    def marginalize_var(self, var: str | Sequence[str]) -> Distribution:
        """Marginalise ``var`` out: sampling draws it and drops it."""
        from dgmcore.distributions.joint import JointDistribution, MarginalizedDistribution

        joint = self if isinstance(self, JointDistribution) else JointDistribution([self])
        return MarginalizedDistribution(joint, var)

    def replace_var(self, **names: str) -> Distribution:
        """Rename variables: ``p.replace_var(z="z_t")`` (everywhere in a joint)."""
        from dgmcore.distributions.replace import ReplacedVarDistribution

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

    # -- helpers for subclasses ------------------------------------------------------
    def _sample_shape(self, sample_shape: Sequence[int] | torch.Size | int) -> torch.Size:
        """``sample_shape`` as a ``torch.Size``; an int ``n`` means ``(n,)``."""
        if sample_shape == ():
            return _NO_SAMPLE_DIMS
        try:
            shape = torch.Size(sample_shape)  # type: ignore[arg-type]
        except TypeError:  # an int, or not a shape: diagnosed off the hot path
            return sample_shape_of(sample_shape, self.prob_text)  # type: ignore[arg-type]
        if shape and min(shape) < 1:
            sample_shape_of(shape, self.prob_text)  # raises
        return shape

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
        return MissingVariableError(str(err.args[0]) if err.args else "?", self.prob_text, x_dict)

    def _inputs(self, x_dict: XDict) -> dict[str, Any]:
        try:
            return {v: x_dict[v] for v in self._cond_var}
        except KeyError as err:
            raise self._missing(err, x_dict) from None


def _derive_log_prob(cls: type[Distribution]) -> None:
    """Give a class that implements one of the two views of its density the other.

    Losses ask for ``get_signed_log_prob``: a class overriding only ``get_log_prob``
    gets one that calls it, so that its override is never bypassed, and vice versa.
    Each calls the class's own method, not the most derived one: ``super()`` never loops.
    """
    own = cls.__dict__
    if "get_log_prob" in own and "get_signed_log_prob" not in own:
        log_prob = own["get_log_prob"]

        def get_signed_log_prob(
            self: Distribution,
            x_dict: XDict,
            sum_features: bool = True,
            feature_dims: Sequence[int] | None = None,
            prefer_negated: bool = False,
        ) -> tuple[torch.Tensor, bool]:
            return log_prob(self, x_dict, sum_features, feature_dims), False

        _install(cls, get_signed_log_prob, Distribution.get_signed_log_prob)
    elif "get_signed_log_prob" in own and "get_log_prob" not in own:
        signed = own["get_signed_log_prob"]

        def get_log_prob(
            self: Distribution,
            x_dict: XDict,
            sum_features: bool = True,
            feature_dims: Sequence[int] | None = None,
        ) -> torch.Tensor:
            value, negated = signed(self, x_dict, sum_features, feature_dims)
            return -value if negated else value

        _install(cls, get_log_prob, Distribution.get_log_prob)


def _install(cls: type, fn: Any, like: Any) -> None:
    fn.__doc__, fn.__name__ = like.__doc__, like.__name__
    fn.__qualname__ = f"{cls.__qualname__}.{like.__name__}"
    setattr(cls, like.__name__, fn)
