"""A base for distributions whose density is a Normal computed from other distributions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dgmcore import memo
from dgmcore.distributions import Distribution
from dgmcore.distributions.base import check_x_dict
from dgmcore.distributions.registry import entropy
from dgmcore.errors import DGMError, ShapeError

__all__ = ["GaussianComposite"]

XDict = dict[str, Any]


class GaussianComposite(Distribution):
    """A distribution of one variable that is a diagonal Normal with computed parameters.

    Subclass requirements: implement :meth:`get_params`, returning ``loc`` and
    ``scale`` from ``x_dict`` (calling other distributions' ``get_params``, which
    are memoized). Everything else — sampling (reparameterised), scoring,
    entropy, mean, variance, and analytic KL through the ``torch.distributions``
    Normal of :meth:`get_dist` — follows from it. Parameters without a batch
    dimension (no conditioning input present) are sampled with ``batch_n``.

    Example:
        >>> import torch
        >>> class Shifted(GaussianComposite):
        ...     def __init__(self):
        ...         super().__init__(["z"], ["x"], "p", [2])
        ...     def get_params(self, x_dict=None):
        ...         x = self._check(x_dict)["x"]
        ...         return {"loc": x + 1, "scale": torch.ones_like(x)}
        >>> p = Shifted()
        >>> p.sample({"x": torch.zeros(3, 2)}, reparam=True)["z"].shape
        torch.Size([3, 2])
        >>> p.get_log_prob({"x": torch.zeros(1, 2), "z": torch.ones(1, 2)})  # 2 log N(0 | 0, 1)
        tensor([-1.8379])
    """

    def __init__(
        self, var: Sequence[str], cond_var: Sequence[str], name: str, features_shape: Sequence[int]
    ) -> None:
        super().__init__(var, cond_var, name, features_shape)
        self._fs_known = bool(self._features_shape)

    @property
    def distribution_name(self) -> str:  # type: ignore[override]
        return type(self).__name__

    @property
    def has_reparam(self) -> bool:
        return True

    def _check(self, x_dict: XDict | None) -> XDict:
        return check_x_dict(x_dict, self)

    def _learn_features(self, loc: torch.Tensor) -> None:
        """Infer ``features_shape`` from the first batched parameters (batch and sample dims first)."""
        if not self._fs_known:
            self._features_shape = loc.shape[1 + memo.sample_dims() :]
            self._fs_known = True

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_params")

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Normal:
        """The ``torch.distributions.Normal`` given the conditioning variables present."""
        q = self.get_params(x_dict)
        return torch.distributions.Normal(q["loc"], q["scale"], validate_args=False)

    def feature_ndim(self, dist: torch.distributions.Distribution) -> int:
        return len(self._features_shape)

    def _batchless(self, dist: torch.distributions.Distribution) -> bool:
        if not self._fs_known:
            raise DGMError(
                f"{self.prob_text} ({self.distribution_name}): features_shape is unknown and no "
                "conditioning input is given; pass features_shape= at construction"
            )
        return len(dist.batch_shape) <= len(self._features_shape)

    def _reduce(
        self, values: torch.Tensor, sum_features: bool, feature_dims: Sequence[int] | None
    ) -> torch.Tensor:
        if not sum_features:
            return values
        if feature_dims is not None:
            return values.sum(dim=tuple(feature_dims))
        n = len(self._features_shape)
        return values.sum(dim=tuple(range(-n, 0))) if n else values

    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
    ) -> XDict:
        x_dict = self._check(x_dict)
        dist = self.get_dist(x_dict)
        shape = torch.Size(sample_shape)
        if self._batchless(dist):
            shape = shape + (1 if batch_n is None else batch_n,)
        value = dist.rsample(shape) if reparam else dist.sample(shape)
        out = dict(x_dict) if return_all else {}
        out[self._var[0]] = value
        return out

    def get_log_prob(
        self, x_dict: XDict, sum_features: bool = True, feature_dims: Sequence[int] | None = None
    ) -> torch.Tensor:
        x_dict = self._check(x_dict)
        try:
            value = x_dict[self._var[0]]
        except KeyError as err:
            raise self._missing(err, x_dict) from None
        dist = self.get_dist(x_dict)
        fs = self._features_shape
        if fs and value.shape[value.dim() - len(fs) :] != fs:
            raise ShapeError(
                f"{self.prob_text}: {self._var[0]!r} should end in features_shape {tuple(fs)}, "
                f"got a tensor of shape {tuple(value.shape)}"
            )
        return self._reduce(dist.log_prob(value), sum_features, feature_dims)

    def get_entropy(
        self,
        x_dict: XDict | None = None,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
    ) -> torch.Tensor:
        dist = self.get_dist(x_dict)
        return self._reduce(entropy(self, dist), sum_features, feature_dims)

    def sample_mean(self, x_dict: XDict | None = None) -> torch.Tensor:
        dist = self.get_dist(x_dict)
        return dist.mean.expand(dist.batch_shape)

    def sample_variance(self, x_dict: XDict | None = None) -> torch.Tensor:
        return self.get_dist(x_dict).variance
