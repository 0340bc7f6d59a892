"""A base for distributions whose density is a Normal computed from other distributions."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dgmcore.distributions import Distribution, XDict, check_x_dict, kl, sample_dims
from dgmcore.errors import DGMError, ShapeError

__all__ = ["GaussianComposite"]


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

    has_reparam = True

    def __init__(
        self, var: Sequence[str], cond_var: Sequence[str], name: str, features_shape: Sequence[int]
    ) -> None:
        super().__init__(var, cond_var, name, features_shape)

    def _check(self, x_dict: XDict | None) -> XDict:
        return check_x_dict(x_dict, self)

    def features_of(self, loc: torch.Tensor) -> torch.Size:
        """The features of batched parameters: declared, else all dims after the sample and batch dims.

        A function of the shapes at hand, never kept: no call changes a later one.
        """
        return self.features_shape or loc.shape[1 + sample_dims() :]

    def require_features(self) -> torch.Size:
        """The declared ``features_shape``, needed when no conditioning input fixes a batch."""
        if not self.features_shape:
            raise DGMError(
                f"{self.prob_text} ({self.distribution_name}): features_shape is unknown and no "
                "conditioning input is given; pass features_shape= at construction"
            )
        return self.features_shape

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_params")

    def get_dist(self, x_dict: XDict | None = None) -> torch.distributions.Normal:
        """The ``torch.distributions.Normal`` given the conditioning variables present."""
        q = self.get_params(x_dict)
        return torch.distributions.Normal(q["loc"], q["scale"], validate_args=False)

    def feature_ndim(self, dist: torch.distributions.Distribution) -> int:
        return len(self.features_shape) if self.features_shape else max(
            len(dist.batch_shape) - 1 - sample_dims(), 0
        )

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        dist = self.get_dist(x_dict)
        if self.features_shape or self._cond_present(x_dict):
            features = self.features_of(dist.loc)
        else:
            features = self.require_features()
        shape = sample_shape
        if len(dist.batch_shape) <= len(features):  # no input fixed a batch
            shape = shape + (1 if batch_n is None else batch_n,)
        value = dist.rsample(shape) if reparam else dist.sample(shape)
        return {self.var[0]: value}

    def _cond_present(self, x_dict: XDict) -> bool:
        return any(v in x_dict for v in self.cond_var)

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        (v,) = self.var
        value = x_dict[v]
        dist = self.get_dist(x_dict)
        fs = self.features_shape
        if fs and value.shape[value.dim() - len(fs) :] != fs:
            raise ShapeError(
                f"{self.prob_text}: {v!r} should end in features_shape {tuple(fs)}, "
                f"got a tensor of shape {tuple(value.shape)}"
            )
        return dist.log_prob(value), self.feature_ndim(dist)

    def _entropy(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        dist = self.get_dist(x_dict)
        return kl.entropy(self, dist), self.feature_ndim(dist)

    def _mean(self, x_dict: XDict) -> torch.Tensor:
        dist = self.get_dist(x_dict)
        return dist.mean.expand(dist.batch_shape)

    def _variance(self, x_dict: XDict) -> torch.Tensor:
        return self.get_dist(x_dict).variance
