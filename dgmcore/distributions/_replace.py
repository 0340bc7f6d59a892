"""Renaming variables: ``p.replace_var(z="z_t")``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

from dgmcore.distributions._base import Distribution
from dgmcore.distributions._inputs import XDict, check_x_dict
from dgmcore.errors import DGMError, InputTypeError, MissingVariableError

T = TypeVar("T")

__all__ = ["ReplacedVarDistribution"]


class ReplacedVarDistribution(Distribution):
    """A distribution with some of its variables renamed.

    The wrapped distribution keeps its own names; inputs are renamed on the way
    in and samples on the way out. Its parameters (and memo entries) are those
    of the wrapped distribution.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> p.replace_var(z="z_prev").prob_text
        'p(x|z_prev)'
    """

    def __init__(self, base: Distribution, names: dict[str, str]) -> None:
        known = set(base.var) | set(base.input_var)
        for old, new in names.items():
            if old not in known:
                raise InputTypeError(
                    f"{base.prob_text} has no variable {old!r} to replace; it has {sorted(known)}"
                )
            if not isinstance(new, str) or not new:
                raise InputTypeError(f"replace_var({old}=...) needs a variable name, got {new!r}")
        if isinstance(base, ReplacedVarDistribution):  # compose the renamings
            inner = {o: names.get(n, n) for o, n in base._forward.items()}
            inner.update({o: n for o, n in names.items() if o not in base._backward})
            names, base = inner, base.base
        rename = lambda vs: [names.get(v, v) for v in vs]  # noqa: E731
        super().__init__(
            var=rename(base.var),
            cond_var=rename(base.cond_var),
            name=base.name,
            features_shape=base.features_shape,
            memo=base.memo,
        )
        self.base: Distribution = base
        self._forward: dict[str, str] = {v: names.get(v, v) for v in list(base.var) + list(base.input_var)}
        self._backward: dict[str, str] = {n: o for o, n in self._forward.items()}
        self._in_pairs = tuple((o, n) for o, n in self._forward.items())

    @property
    def distribution_name(self) -> str:  # type: ignore[override]
        return self.base.distribution_name

    @property
    def input_var(self) -> list[str]:
        return [self._forward[v] for v in self.base.input_var]

    @property
    def unwrapped(self) -> Distribution:
        return self.base.unwrapped

    @property
    def has_reparam(self) -> bool:
        return self.base.has_reparam

    def _architecture(self) -> list[str]:
        return self.base._architecture()

    def _to_base(self, x_dict: XDict) -> XDict:
        """The base distribution's own variables, under its own names."""
        return {old: x_dict[new] for old, new in self._in_pairs if new in x_dict}

    def _from_base(self, samples: XDict) -> XDict:
        return {self._forward.get(k, k): v for k, v in samples.items()}

    def _renamed(self, err: DGMError, x_dict: Any) -> DGMError:
        """The wrapped distribution's error, in this one's formula and variable names."""
        if isinstance(err, MissingVariableError):
            given = x_dict if isinstance(x_dict, dict) else {}
            return MissingVariableError(self._forward.get(err.variable, err.variable), self.prob_text, given)
        text = str(err).replace(self.base.prob_text, self.prob_text)
        for old, new in self._forward.items():
            if old != new:
                text = text.replace(repr(old), repr(new))
        try:
            renamed = type(err)(text)
        except TypeError:  # an error type with a constructor of its own: keep it as it is
            return err
        renamed.__cause__ = err.__cause__
        return renamed

    def _call(self, method: Callable[..., T], x_dict: XDict, *args: Any) -> T:
        try:
            return method(self._to_base(x_dict), *args)
        except DGMError as err:
            raise self._renamed(err, x_dict) from err.__cause__

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        return self._from_base(self._call(self.base.sample, x_dict, batch_n, sample_shape, False, reparam))

    def get_signed_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
        prefer_negated: bool = False,
    ) -> tuple[torch.Tensor, bool]:
        # the features are the base's: it sums them (or keeps them) itself
        x = check_x_dict(x_dict, self)
        return self._call(self.base.get_signed_log_prob, x, sum_features, feature_dims, prefer_negated)

    def get_log_prob(
        self, x_dict: XDict, sum_features: bool = True, feature_dims: Sequence[int] | None = None
    ) -> torch.Tensor:
        x = check_x_dict(x_dict, self)
        return self._call(self.base.get_log_prob, x, sum_features, feature_dims)

    def get_entropy(
        self,
        x_dict: XDict | None = None,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        x = check_x_dict(x_dict, self)
        return self._call(self.base.get_entropy, x, sum_features, feature_dims)

    def _mean(self, x_dict: XDict) -> torch.Tensor:
        return self._call(self.base.sample_mean, x_dict)

    def _variance(self, x_dict: XDict) -> torch.Tensor:
        return self._call(self.base.sample_variance, x_dict)

    def get_params(self, x_dict: XDict | None = None) -> dict[str, Any]:
        return self._call(self.base.get_params, check_x_dict(x_dict, self))

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Distribution:
        return self._call(self.base.get_dist, check_x_dict(x_dict, self))

    def feature_ndim(self, dist: torch.distributions.Distribution) -> int:
        return self.base.feature_ndim(dist)
