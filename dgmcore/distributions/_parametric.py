""":class:`ParametricDistribution`: the base of every family, over ``torch.distributions``."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from dgmcore import memo
from dgmcore.distributions import kl
from dgmcore.distributions._base import Distribution
from dgmcore.distributions._constants import (
    ConstantViews,
    check_constants,
    constant_entry,
    expand_constants,
)
from dgmcore.distributions._features import FeatureDims
from dgmcore.distributions._forward import run_forward, shapes_of
from dgmcore.distributions._inputs import XDict, check_x_dict
from dgmcore.distributions._sample_dims import sample_dims
from dgmcore.distributions._shapes import check_tensors, check_value, error_class
from dgmcore.distributions._views import fast_view
from dgmcore.errors import DGMError, InputTypeError, NoDensityError, ParameterError, ShapeError

__all__ = ["ParametricDistribution"]


class ParametricDistribution(ConstantViews, FeatureDims, Distribution):
    """A distribution of one variable from a ``torch.distributions`` family.

    Each parameter of the family is, per instance, one of:

    * a constant given at construction (a number, tensor, or ``nn.Parameter``
      for a learned constant), stored on the module (see "Constants" below);
    * the name of one of ``cond_var``: the parameter is taken from the input;
    * not given: it comes from :meth:`forward`, which receives the remaining
      conditioning variables as keyword arguments and returns a dict of
      parameters, exactly as in Pixyz.

    Subclass requirements: set the class attributes ``family`` (a
    ``torch.distributions.Distribution`` subclass) and ``params`` (the names of
    its parameters that may be given). Optional:

    * ``defaults``: parameter values used when the caller gives none
      (``{"temperature": 0.5}``);
    * ``options``: constructor options that are not parameters of the family,
      with their defaults (``{"total_count": 1}``); each is set as an attribute
      before :meth:`setup` runs;
    * :meth:`setup`: called once by the constructor, after the variables,
      options and parameters are set and before the constant parameters are
      checked against the family (validate options and constants there);
    * :meth:`make_dist` when the family needs more than ``family(**params)``;
    * :meth:`log_prob_value` (always the log density) when values need
      converting before scoring (e.g. one-hot labels), with
      :meth:`accepts_value` when such a value has another shape;
    * :meth:`neg_log_prob_value`, a faster view: *minus* the log density, for a
      family whose fused loss computes that (a binary cross-entropy). It is
      used only where it is defined at or below the class that defines
      :meth:`log_prob_value`, so a subclass that overrides
      :meth:`log_prob_value` alone always gets its own density.

    Constants:
        A number or tensor is a buffer of its own shape (expanded to
        ``features_shape`` when all parameters are constants), which
        ``state_dict`` and every computation use. As an attribute (``p.loc``)
        it reads as Pixyz stores it, a ``(1, *shape)`` view: writes through it
        (``p.loc[0] = new_loc``) update the constant, and a tensor of that shape
        assigned to it (``p.loc = 2 * p.loc``) is stored in the buffer's
        shape. An ``nn.Parameter`` is returned as it is.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class VonMises(ParametricDistribution):
        ...     family = torch.distributions.VonMises
        ...     params = ("loc", "concentration")
        >>> p = VonMises(loc=0.0, concentration=2.0, var=["a"], features_shape=[3])
        >>> p.sample(batch_n=4)["a"].shape
        torch.Size([4, 3])
        >>> p.get_log_prob({"a": torch.zeros(4, 3)}).shape
        torch.Size([4])
        >>> p.loc.shape  # the buffer (3,), read with Pixyz's leading batch dimension
        torch.Size([1, 3])
        >>> p.loc[0] = torch.tensor([0.0, 1.0, 2.0])  # writes the buffer
        >>> p.sample_mean()
        tensor([0., 1., 2.])
    """

    family: ClassVar[type[torch.distributions.Distribution]]
    params: ClassVar[tuple[str, ...]] = ()
    #: Parameter values used when the caller gives none.
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: Constructor options that are not parameters of the family, with their defaults.
    options: ClassVar[Mapping[str, Any]] = {}

    def __init__(
        self,
        var: str | Sequence[str] = ("x",),
        cond_var: str | Sequence[str] = (),
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
        memo: bool = True,
        validate_args: bool = False,
        **params: Any,
    ) -> None:
        super().__init__(var, cond_var, name, features_shape, memo)
        cls = type(self)
        if hasattr(cls, "negated_log_prob"):  # the flag that reversed log_prob_value's sign is gone
            raise DGMError(
                f"{cls.__name__} sets negated_log_prob, which dgmcore no longer reads: "
                "log_prob_value returns the log density; give minus it as neg_log_prob_value"
            )
        if not hasattr(cls, "family"):
            raise DGMError(f"{cls.__name__} must set the class attribute 'family'")
        if len(self._var) != 1:
            raise InputTypeError(
                f"{cls.__name__} generates exactly one variable, got var={list(self._var)}"
            )
        unknown = sorted(set(params) - set(cls.params) - set(cls.options))
        if unknown:
            raise InputTypeError(
                f"{cls.__name__} has no parameter {unknown[0]!r}; its parameters are "
                f"{list(cls.params)}" + (f" and its options {list(cls.options)}" if cls.options else "")
            )
        for option, default in cls.options.items():
            setattr(self, option, params.pop(option, default))
        for pname, default in cls.defaults.items():
            if params.get(pname) is None:
                params[pname] = default
        self.validate_args = validate_args
        # a faster view of the density, only where it belongs to the class's own density
        self._neg_view = fast_view(cls, "neg_log_prob_value", "log_prob_value", ParametricDistribution)
        self._const_names: list[str] = []
        self._cond_params: dict[str, str] = {}  # parameter -> conditioning variable
        for pname, value in params.items():
            if value is None:
                continue
            if isinstance(value, str):
                if value not in self._cond_var:
                    raise InputTypeError(
                        f"{self.prob_text}: parameter {pname}={value!r} names a variable that "
                        f"is not in cond_var {list(self._cond_var)}"
                    )
                self._cond_params[pname] = value
            elif isinstance(value, nn.Parameter):
                self.register_parameter(pname, value)
                self._const_names.append(pname)
            elif isinstance(value, (torch.Tensor, numbers.Number)):
                # a copy: load_state_dict and .to() must never write into the caller's tensor
                t = torch.as_tensor(value, dtype=torch.get_default_dtype()) if not isinstance(
                    value, torch.Tensor
                ) else value.detach().clone()
                self.register_buffer(pname, t)
                self._const_names.append(pname)
            else:
                raise InputTypeError(
                    f"{self.prob_text}: parameter {pname} must be a number, a tensor or the name "
                    f"of a conditioning variable, got {type(value).__name__}"
                )
        self.setup()
        used = set(self._cond_params.values())
        self._forward_vars = tuple(v for v in self._cond_var if v not in used)
        self._has_forward = type(self).forward is not ParametricDistribution.forward
        self._has_inputs = bool(self._cond_var)
        self._constant_cache: tuple[Any, ...] | None = None  # see constants.constant_entry
        self._constant_checked: tuple[Any, ...] | None = None  # its shape check (FeatureDims._checked)
        self._param_names = frozenset(cls.params)
        if self._const_names and not self._has_forward and not self._cond_params:
            expand_constants(self)
        elif self._const_names:
            check_constants(self)
        # declared, or fixed by the constants; else inferred per call from the shapes, never kept
        self._declared = bool(self._features_shape)
        self._constant_views = frozenset(n for n in self._const_names if n in self._buffers)

    # -- extension points ------------------------------------------------------------
    def setup(self) -> None:
        """Validate options (called by the constructor; see "Subclass requirements")."""

    # (*args: Any, **inputs: Any): a subclass names its inputs, forward(self, x), and type-checks
    def forward(self, *args: Any, **inputs: Any) -> dict[str, torch.Tensor]:
        """Return the parameters not fixed at construction (override in subclasses)."""
        return {}

    def make_dist(
        self, params: dict[str, Any], validate_args: bool = False
    ) -> torch.distributions.Distribution:
        """Build the ``torch.distributions`` object from the parameters."""
        return self.family(**params, validate_args=validate_args)

    def accepts_value(self, value: torch.Tensor) -> bool:
        """Whether a value that does not end in ``features_shape`` can still be scored.

        Called by :meth:`get_log_prob` only when that shape check fails, so it
        costs nothing otherwise. Families that accept two encodings of a value
        override it (a categorical family: class labels and one-hot vectors)
        and convert in :meth:`log_prob_value`. The default accepts nothing.
        """
        return False

    def log_prob_value(self, dist: torch.distributions.Distribution, value: torch.Tensor) -> torch.Tensor:
        """Elementwise log density of ``value`` under ``dist``."""
        return dist.log_prob(value)

    def neg_log_prob_value(self, dist: torch.distributions.Distribution, value: torch.Tensor) -> torch.Tensor:
        """Elementwise *negative* log density: an optional faster view (see the class docstring)."""
        return -self.log_prob_value(dist, value)

    # -- parameters (memoized) -------------------------------------------------------
    def _build(self, x_dict: XDict) -> tuple[dict[str, Any], torch.distributions.Distribution]:
        # the stored constants themselves, not their attribute views
        buffers = self._buffers
        params: dict[str, Any] = {
            n: buffers[n] if n in buffers else self._parameters[n] for n in self._const_names
        }
        if self._cond_params:
            try:
                for pname, v in self._cond_params.items():
                    t = x_dict[v]
                    # an integer tensor for a parameter is read as a float one (torch keeps the dtype)
                    params[pname] = t if not isinstance(t, torch.Tensor) or t.is_floating_point() else t.to(
                        torch.get_default_dtype()
                    )
            except KeyError as err:
                raise self._missing(err, x_dict) from None
        if self._has_forward:
            try:
                inputs = {v: x_dict[v] for v in self._forward_vars}
            except KeyError as err:
                raise self._missing(err, x_dict) from None
            out = run_forward(self, inputs)
            if not self._param_names.issuperset(out):
                bad = [k for k in out if k not in self._param_names]
                raise ParameterError(
                    f"{self.prob_text}: forward returned {bad[0]!r}, which is not a parameter "
                    f"of {type(self).__name__} (expected some of {list(type(self).params)})"
                )
            params.update(out)
        try:
            dist = self.make_dist(params, validate_args=self.validate_args)
        except (ValueError, RuntimeError, TypeError) as err:
            check_tensors(self, x_dict, self._cond_var)
            given = {k: tuple(v.shape) if isinstance(v, torch.Tensor) else v for k, v in params.items()}
            inputs_shapes = shapes_of({v: x_dict.get(v) for v in self._cond_var})
            cls = error_class(err)
            raise cls(
                f"{self.prob_text} ({type(self).__name__}) could not be built from parameters "
                f"{given} (inputs: {inputs_shapes}): {err}"
            ) from err
        return params, dist

    def _entry(self, x_dict: XDict) -> tuple[dict[str, Any], torch.distributions.Distribution]:
        if not self._has_inputs:
            return constant_entry(self, x_dict)
        try:
            vals = [x_dict[v] for v in self._cond_var]
        except KeyError as err:
            raise self._missing(err, x_dict) from None
        return memo.cached(self, vals, lambda: self._build(x_dict))

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        """The family's parameters given the conditioning variables (memoized)."""
        return dict(self._entry(check_x_dict(x_dict, self))[0])

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Distribution:
        """The ``torch.distributions`` object given the conditioning variables (memoized)."""
        return self._entry(check_x_dict(x_dict, self))[1]

    # -- the hooks of the Distribution template ---------------------------------------------
    @property
    def has_reparam(self) -> bool:
        return bool(self.family.has_rsample)

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        dist, _ = self._checked(x_dict)
        shape = sample_shape
        if not self._has_inputs:
            shape = shape + (1 if batch_n is None else batch_n,)
        elif batch_n is not None:
            # a conditional distribution draws one sample per input: batch_n may only agree
            bs, pos = dist.batch_shape, sample_dims()
            if len(bs) > pos and bs[pos] != batch_n:
                raise ShapeError(
                    f"{self.prob_text}: batch_n={batch_n} disagrees with the batch size "
                    f"{bs[pos]} of its inputs {shapes_of(self._inputs(x_dict))}; a conditional "
                    "distribution draws one sample per input (drop batch_n)"
                )
        try:
            value = dist.rsample(shape) if reparam else dist.sample(shape)
        except (ValueError, RuntimeError) as err:
            raise error_class(err)(
                f"{self.prob_text} ({type(self).__name__}) could not draw samples of shape "
                f"{tuple(shape)} from parameters of batch shape {tuple(dist.batch_shape)}: {err}"
            ) from err
        return {self._var[0]: value}

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        values, n, _ = self._score(x_dict, False)
        return values, n

    def _signed_log_density(self, x_dict: XDict, prefer_negated: bool) -> tuple[torch.Tensor, int, bool]:
        return self._score(x_dict, self._neg_view)

    def _score(self, x_dict: XDict, negated: bool) -> tuple[torch.Tensor, int, bool]:
        value = x_dict[self._var[0]]
        if not isinstance(value, torch.Tensor):
            raise InputTypeError(
                f"{self.prob_text}: the value of {self._var[0]!r} must be a torch.Tensor, got "
                f"{type(value).__name__}"
            )
        dist, n_feat = self._checked(x_dict, value)
        check_value(self, dist, value, n_feat)
        try:
            lp = self.neg_log_prob_value(dist, value) if negated else self.log_prob_value(dist, value)
        except DGMError:
            raise
        except (ValueError, RuntimeError) as err:
            raise ShapeError(
                f"{self.prob_text}: cannot score {self._var[0]!r} of shape {tuple(value.shape)} "
                f"under parameters of batch shape {tuple(dist.batch_shape)} (features "
                f"{tuple(self.features_shape_of(dist))}): {err}"
            ) from err
        return lp, n_feat, negated

    def _entropy(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        dist, n = self._checked(x_dict)
        try:
            return kl.entropy(self, dist), n
        except NotImplementedError:
            raise NoDensityError(
                f"{self.prob_text} ({type(self).__name__}) has no closed-form entropy; use "
                "Entropy(p, analytical=False) for the Monte-Carlo estimate, or register one with "
                "a plugin's register_entropy hook"
            ) from None

    def _mean(self, x_dict: XDict) -> torch.Tensor:
        return self._moment(x_dict, "mean")

    def _variance(self, x_dict: XDict) -> torch.Tensor:
        return self._moment(x_dict, "variance")

    def _moment(self, x_dict: XDict, which: str) -> torch.Tensor:
        dist, _ = self._checked(x_dict)
        try:
            value = getattr(dist, which)
        except NotImplementedError:
            raise NoDensityError(
                f"{self.prob_text} ({type(self).__name__}) has no closed-form {which}"
            ) from None
        if not self._has_inputs:  # one value, not a batch of it: the features only
            return value  # type: ignore[no-any-return]
        return value.expand(dist.batch_shape + dist.event_shape)  # type: ignore[no-any-return]
