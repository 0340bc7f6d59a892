""":class:`ParametricDistribution`: the base of every family, over ``torch.distributions``."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from dgmcore import memo
from dgmcore.distributions.base import Distribution, XDict, check_x_dict
from dgmcore.distributions.constants import check_constants, constant_entry, expand_constants
from dgmcore.distributions.diagnose import check_tensors, check_value_batch, error_class, lead_error
from dgmcore.distributions.forward import run_forward, shapes_of
from dgmcore.errors import DGMError, InputTypeError, NoDensityError, ParameterError, ShapeError

__all__ = ["ParametricDistribution"]


class ParametricDistribution(Distribution):
    """A distribution of one variable from a ``torch.distributions`` family.

    Each parameter of the family is, per instance, one of:

    * a constant given at construction (a number, tensor, or ``nn.Parameter``
      for a learned constant), stored on the module;
    * the name of one of ``cond_var``: the parameter is taken from the input;
    * not given: it comes from :meth:`forward`, which receives the remaining
      conditioning variables as keyword arguments and returns a dict of
      parameters, exactly as in Pixyz.

    Subclass requirements: set the class attributes ``family`` (a
    ``torch.distributions.Distribution`` subclass) and ``params`` (the names of
    its parameters that may be given). Override :meth:`make_dist` when the
    family needs more than ``family(**params)``, and :meth:`log_prob_value`
    when values need converting before scoring (e.g. one-hot labels), with
    :meth:`accepts_value` when such a value has another shape.

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
    """

    family: ClassVar[type[torch.distributions.Distribution]]
    params: ClassVar[tuple[str, ...]] = ()
    #: Set by a family whose :meth:`log_prob_value` returns the *negative* log density
    #: (a cross-entropy, as torch's fused losses give it): the sign is applied after the
    #: features are summed, on one value per batch element instead of every feature, or
    #: not at all where a loss subtracts the term (:meth:`get_signed_log_prob`).
    negated_log_prob: ClassVar[bool] = False

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
        if not hasattr(cls, "family"):
            raise DGMError(f"{cls.__name__} must set the class attribute 'family'")
        if len(self._var) != 1:
            raise InputTypeError(
                f"{cls.__name__} generates exactly one variable, got var={list(self._var)}"
            )
        unknown = sorted(set(params) - set(cls.params))
        if unknown:
            raise InputTypeError(
                f"{cls.__name__} has no parameter {unknown[0]!r}; its parameters are "
                f"{list(cls.params)}"
            )
        self.validate_args = validate_args
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
        used = set(self._cond_params.values())
        self._forward_vars = tuple(v for v in self._cond_var if v not in used)
        self._has_forward = type(self).forward is not ParametricDistribution.forward
        self._has_inputs = bool(self._cond_var)
        self._n_feat: int | None = None  # feature dims of log_prob's output, once known
        self._constant_cache: tuple[Any, ...] | None = None  # see constants.constant_entry
        self._param_names = frozenset(cls.params)
        self._inferred = False  # whether features_shape was inferred (for error messages)
        if self._const_names and not self._has_forward and not self._cond_params:
            expand_constants(self)
        elif self._const_names:
            check_constants(self)

    # -- extension points ------------------------------------------------------------
    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
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

    # -- parameters (memoized) -------------------------------------------------------
    def _build(self, x_dict: XDict) -> tuple[dict[str, Any], torch.distributions.Distribution]:
        params: dict[str, Any] = {n: getattr(self, n) for n in self._const_names}
        if self._cond_params:
            try:
                for pname, v in self._cond_params.items():
                    params[pname] = x_dict[v]
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
        store = memo._state.store
        if store is None or not self.memo:
            return self._build(x_dict)
        try:
            vals = [x_dict[v] for v in self._cond_var]
        except KeyError as err:
            raise self._missing(err, x_dict) from None
        try:
            # grad mode is part of the key: a result built under no_grad has no graph to reuse
            if torch.compiler.is_compiling():  # a store local to the traced graph (CompiledLoss)
                key = (self, torch.is_grad_enabled(), *vals)  # tensors hash by identity
            else:
                key = (self, torch.is_grad_enabled(), *[(id(t), t._version) for t in vals])
        except AttributeError:
            raise InputTypeError(
                f"{self.prob_text}: conditioning variables must be tensors, got "
                f"{ {v: type(x_dict[v]).__name__ for v in self._cond_var} }"
            ) from None
        entry = store.get(key)
        if entry is None:
            built = self._build(x_dict)
            store[key] = (built, vals)
            return built
        return entry[0]

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        """The family's parameters given the conditioning variables (memoized)."""
        return dict(self._entry(check_x_dict(x_dict, self))[0])

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Distribution:
        """The ``torch.distributions`` object given the conditioning variables (memoized)."""
        return self._entry(check_x_dict(x_dict, self))[1]

    # -- feature dimensions ------------------------------------------------------------
    def feature_ndim(self, dist: torch.distributions.Distribution, value: torch.Tensor | None = None) -> int:
        """Number of trailing batch dims of ``dist`` that are feature dims.

        Declared by ``features_shape``, else inferred once from the first
        parameters seen: all dims after the sample and batch dims. Inside a
        loss, a conditioned distribution's parameters carry the loss's sample
        dims only when its inputs do; when ``value`` (the tensor being scored)
        has exactly those sample dims more than the parameters, the parameters
        lack them (``p(z|z_prev)`` with ``z`` drawn and ``z_prev`` observed).

        Raises:
            ShapeError: the parameters of a conditioned distribution have no
                batch dim in front of the features (the features were read
                wrongly on first use, or the parameters lost the batch).
        """
        n = self._n_feat
        if n is None:
            fs = self._features_shape
            if fs:
                n = max(len(fs) - len(dist.event_shape), 0)
            else:
                bs = dist.batch_shape
                s = memo.sample_dims()
                lead = 1 + s if self._has_inputs else 0
                if (
                    s
                    and self._has_inputs
                    and value is not None
                    and value.dim() - len(dist.event_shape) - len(bs) == s
                ):
                    lead = 1  # the parameters lack the sample dims the value carries
                n = max(len(bs) - lead, 0)
                self._features_shape = (bs + dist.event_shape)[len(bs) - n :]
                self._inferred = True
            self._n_feat = n
        # O(1): a batch summed away as features would be a silent wrong answer. (Sample dims
        # may be absent: parameters built from inputs without them score sampled values.)
        if self._has_inputs and len(dist.batch_shape) <= n:
            raise lead_error(self, dist, n)
        return n

    def _reduce(
        self, values: torch.Tensor, n_feat: int, sum_features: bool, feature_dims: Sequence[int] | None
    ) -> torch.Tensor:
        if not sum_features:
            return values
        if feature_dims is not None:
            return values.sum(dim=tuple(feature_dims))
        if n_feat == 1:  # the common case: an int dim parses faster than a tuple
            return values.sum(-1)
        if n_feat:
            return values.sum(dim=tuple(range(-n_feat, 0)))
        return values

    # -- the distribution API ------------------------------------------------------------
    @property
    def has_reparam(self) -> bool:
        return bool(self.family.has_rsample)

    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
    ) -> XDict:
        x_dict = check_x_dict(x_dict, self)
        dist = self._entry(x_dict)[1]
        shape = self._sample_shape(sample_shape)
        if batch_n is not None:
            self._check_batch_n(batch_n)
        if not self._has_inputs:
            shape = shape + (1 if batch_n is None else batch_n,)
        elif batch_n is not None:
            # a conditional distribution draws one sample per input: batch_n may only agree
            bs, pos = dist.batch_shape, memo._state.sample_ndim
            if len(bs) > pos and bs[pos] != batch_n:
                raise ShapeError(
                    f"{self.prob_text}: batch_n={batch_n} disagrees with the batch size "
                    f"{bs[pos]} of its inputs {shapes_of(self._inputs(x_dict))}; a conditional "
                    "distribution draws one sample per input (drop batch_n)"
                )
        if reparam and not dist.has_rsample:
            raise DGMError(
                f"{self.prob_text} ({type(self).__name__}) cannot draw reparameterised "
                "samples; pass reparam=False"
            )
        try:
            value = dist.rsample(shape) if reparam else dist.sample(shape)
        except (ValueError, RuntimeError) as err:
            raise error_class(err)(
                f"{self.prob_text} ({type(self).__name__}) could not draw samples of shape "
                f"{tuple(shape)} from parameters of batch shape {tuple(dist.batch_shape)}: {err}"
            ) from err
        self.feature_ndim(dist)
        if return_all:
            out = dict(x_dict)
            out[self._var[0]] = value
            return out
        return {self._var[0]: value}

    def get_signed_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
        prefer_negated: bool = False,
    ) -> tuple[torch.Tensor, bool]:
        x_dict = check_x_dict(x_dict, self)
        dist = self._entry(x_dict)[1]
        try:
            value = x_dict[self._var[0]]
        except KeyError as err:
            raise self._missing(err, x_dict) from None
        try:
            ndim = value.dim()
        except AttributeError:
            raise InputTypeError(
                f"{self.prob_text}: the value of {self._var[0]!r} must be a torch.Tensor, got "
                f"{type(value).__name__}"
            ) from None
        n_feat = self.feature_ndim(dist, value)
        fs = self._features_shape
        if fs and value.shape[ndim - len(fs) :] != fs and not self.accepts_value(value):
            raise ShapeError(
                f"{self.prob_text}: {self._var[0]!r} should end in features_shape {tuple(fs)}, "
                f"got a tensor of shape {tuple(value.shape)}"
            )
        # O(1): a value without its batch dim would broadcast against the parameters silently.
        # (Sample dims may be absent: an observation scored under sampled latents.)
        if self._has_inputs and ndim <= n_feat + len(dist.event_shape):
            check_value_batch(self, dist, value, n_feat)
        try:
            lp = self.log_prob_value(dist, value)
        except DGMError:
            raise
        except (ValueError, RuntimeError) as err:
            raise ShapeError(
                f"{self.prob_text}: cannot score {self._var[0]!r} of shape {tuple(value.shape)} "
                f"under parameters of batch shape {tuple(dist.batch_shape)}: {err}"
            ) from err
        return self._reduce(lp, n_feat, sum_features, feature_dims), self.negated_log_prob

    def get_entropy(
        self,
        x_dict: XDict | None = None,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        from dgmcore.distributions.registry import entropy

        dist = self.get_dist(x_dict)
        try:
            ent = entropy(self, dist)
        except NotImplementedError:
            raise NoDensityError(
                f"{self.prob_text} ({type(self).__name__}) has no closed-form entropy; use "
                "Entropy(p, analytical=False) for the Monte-Carlo estimate, or register one with "
                "a plugin's register_entropy hook"
            ) from None
        return self._reduce(ent, self.feature_ndim(dist), sum_features, feature_dims)

    def sample_mean(self, x_dict: XDict | None = None) -> torch.Tensor:
        return self.get_dist(x_dict).mean

    def sample_variance(self, x_dict: XDict | None = None) -> torch.Tensor:
        return self.get_dist(x_dict).variance

    @property
    def distribution_name(self) -> str:  # type: ignore[override]
        return type(self).__name__
