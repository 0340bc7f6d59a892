"""Categorical families: :class:`Categorical` (labels) and :class:`OneHotCategorical` (one-hot).

Both score both encodings of a category: an integer class label, and a
floating-point one-hot vector (a soft vector on the simplex, such as a relaxed
sample, is scored as :math:`\\sum_k x_k \\log p_k`, the negative cross-entropy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from dgmcore.distributions import ParametricDistribution
from dgmcore.errors import NoDensityError, ParameterError, ShapeError, ValueRangeError

__all__ = ["Categorical", "OneHotCategorical"]


def _one_hot_log_prob(
    owner: ParametricDistribution, logits: torch.Tensor, value: torch.Tensor
) -> torch.Tensor:
    """:math:`\\sum_k x_k \\log p_k` for one-hot (or soft) vectors ``value`` of length K."""
    k = logits.shape[-1]
    if value.shape[-1:] != (k,):
        raise ShapeError(
            f"{owner.prob_text}: a floating-point value is read as one-hot vectors over {k} "
            f"categories, but its last dimension has size {value.shape[-1] if value.dim() else 0}; "
            "pass class labels as an integer tensor"
        )
    if owner.validate_args:
        sums = value.sum(-1)
        if not bool((value >= 0).all() & torch.isclose(sums, value.new_ones(())).all()):
            raise ValueRangeError(
                f"{owner.prob_text}: {owner.var[0]!r} is read as one-hot vectors, which must be "
                f"non-negative and sum to 1; got smallest entry {value.min().item():.4g} and sums "
                f"from {sums.min().item():.4g} to {sums.max().item():.4g}"
            )
    return (value * logits).sum(-1)  # torch keeps normalised logits finite (probs are clamped)


def _checked_dist(owner: ParametricDistribution, params: dict[str, Any], validate_args: bool) -> Any:
    """The family built from ``params``; validated, ``probs`` must be non-negative first.

    torch normalises ``probs`` before it validates them, so probabilities that are all
    negative (``-1/-3 = 1/3``) would otherwise pass.
    """
    probs = params.get("probs")
    if validate_args and isinstance(probs, torch.Tensor) and not bool((probs >= 0).all()):
        raise ParameterError(
            f"{owner.prob_text} ({type(owner).__name__}): parameter probs must be non-negative, "
            f"got smallest entry {probs.min().item():.4g}"
        )
    return owner.family(**params, validate_args=validate_args)


def _label_log_prob(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """:math:`\\log p_y` for integer class labels ``y`` (broadcast against the batch of ``logits``)."""
    index = labels.long().unsqueeze(-1)
    index, log_pmf = torch.broadcast_tensors(index, logits)
    return log_pmf.gather(-1, index[..., :1]).squeeze(-1)


class Categorical(ParametricDistribution):
    """The categorical distribution over ``K`` classes; samples are integer labels.

    Give exactly one of ``probs`` or ``logits``; their last dimension is the
    number of classes K, and ``features_shape`` is the shape of the labels
    (``()`` for one label per batch element).

    Scoring accepts integer labels (shape ``batch + features_shape``) and
    floating-point one-hot vectors (shape ``batch + features_shape + (K,)``)
    alike: both give :math:`\\log p_y`. An integer tensor holds labels; a float
    tensor is read as one-hot only when its shape is ``batch + features_shape +
    (K,)`` (``F.one_hot`` returns integers: call ``.float()`` on it to score it
    as one-hot, or pass the labels). Float values shaped like labels (without
    the trailing K) raise :class:`~dgmcore.errors.ShapeError`: pass them as
    ``.long()``.

    Labels are nominal: :meth:`sample_mean` and :meth:`sample_variance` raise
    :class:`~dgmcore.errors.NoDensityError` (torch's ``Categorical.mean`` is NaN).

    Coming from Pixyz: Pixyz's ``Categorical`` samples one-hot vectors; that is
    :class:`OneHotCategorical` here (its mean is ``probs``).

    Example:
        >>> import torch
        >>> from dgmcore_families import Categorical
        >>> p = Categorical(probs=torch.tensor([0.2, 0.3, 0.5]), var=["y"])
        >>> p.sample(batch_n=4)["y"].dtype
        torch.int64
        >>> labels = torch.tensor([2, 0])
        >>> p.get_log_prob({"y": labels})
        tensor([-0.6931, -1.6094])
        >>> p.get_log_prob({"y": torch.nn.functional.one_hot(labels, 3).float()})
        tensor([-0.6931, -1.6094])
    """

    family = torch.distributions.Categorical
    params = ("probs", "logits")

    if TYPE_CHECKING:  # what make_dist builds from family; declared for the checker only

        def get_dist(self, x_dict: dict[str, Any] | None = None) -> torch.distributions.Categorical: ...

    def make_dist(
        self, params: dict[str, Any], validate_args: bool = False
    ) -> torch.distributions.Distribution:
        return _checked_dist(self, params, validate_args)  # type: ignore[no-any-return]

    def _no_moment(self, what: str) -> NoDensityError:
        return NoDensityError(
            f"{self.prob_text} (Categorical) samples class labels, which have no {what} (torch gives "
            f"NaN); for the class probabilities use p.get_dist(x_dict).probs, or "
            "OneHotCategorical, whose samples are one-hot vectors with mean probs (Pixyz's Categorical)"
        )

    def sample_mean(self, x_dict: dict[str, Any] | None = None) -> torch.Tensor:
        """Raises :class:`~dgmcore.errors.NoDensityError`: labels have no mean."""
        raise self._no_moment("mean")

    def sample_variance(self, x_dict: dict[str, Any] | None = None) -> torch.Tensor:
        """Raises :class:`~dgmcore.errors.NoDensityError`: labels have no variance."""
        raise self._no_moment("variance")

    def accepts_value(self, value: torch.Tensor) -> bool:
        fs = self.features_shape
        return value.is_floating_point() and value.shape[value.dim() - len(fs) - 1 : -1] == fs

    # dist is built from family: narrowed without a per-call cast
    def log_prob_value(  # type: ignore[override]
        self, dist: torch.distributions.Categorical, value: torch.Tensor
    ) -> torch.Tensor:
        if value.is_floating_point():
            # one-hot only as batch + features + (K,): O(1); float labels lack the K dim
            fs = self.features_shape_of(dist, value)
            if value.dim() < len(fs) + 2 or value.shape[-1] != dist.logits.shape[-1]:
                raise self._not_one_hot(dist, value)
            return _one_hot_log_prob(self, dist.logits, value)
        return _label_log_prob(dist.logits, value)

    def _not_one_hot(self, dist: torch.distributions.Categorical, value: torch.Tensor) -> ShapeError:
        k, fs, v = dist.logits.shape[-1], tuple(self.features_shape_of(dist, value)), self.var[0]
        looks_like_labels = value.dim() >= len(fs) and tuple(value.shape[value.dim() - len(fs) :]) == fs
        hint = (
            f"it looks like class labels stored as floats: pass x_dict[{v!r}].long()"
            if looks_like_labels
            else "pass class labels as an integer tensor"
        )
        return ShapeError(
            f"{self.prob_text}: a floating-point {v!r} is read as one-hot vectors over {k} "
            f"categories, of shape batch + {fs} + ({k},); got shape {tuple(value.shape)}: {hint}"
        )


class OneHotCategorical(ParametricDistribution):
    """The categorical distribution over ``K`` classes; samples are one-hot vectors.

    Give exactly one of ``probs`` or ``logits``. ``features_shape`` ends in K.
    This is Pixyz's ``Categorical``.

    Scoring accepts one-hot vectors (float or integer, e.g. from ``F.one_hot``)
    and integer class labels (shape without the trailing K) alike; a soft float
    vector on the simplex scores as :math:`\\sum_k x_k \\log p_k`.

    Example:
        >>> import torch
        >>> from dgmcore_families import OneHotCategorical
        >>> p = OneHotCategorical(probs=torch.tensor([0.2, 0.3, 0.5]), var=["y"])
        >>> p.sample(batch_n=4)["y"].shape
        torch.Size([4, 3])
        >>> p.get_log_prob({"y": torch.tensor([[0.0, 0.0, 1.0]])})
        tensor([-0.6931])
        >>> p.get_log_prob({"y": torch.tensor([2])})  # the same category as a label
        tensor([-0.6931])
    """

    family = torch.distributions.OneHotCategorical
    params = ("probs", "logits")

    if TYPE_CHECKING:  # what make_dist builds from family; declared for the checker only

        def get_dist(self, x_dict: dict[str, Any] | None = None) -> torch.distributions.OneHotCategorical: ...

    def make_dist(
        self, params: dict[str, Any], validate_args: bool = False
    ) -> torch.distributions.Distribution:
        return _checked_dist(self, params, validate_args)  # type: ignore[no-any-return]

    def accepts_value(self, value: torch.Tensor) -> bool:
        fs = self.features_shape
        return not value.is_floating_point() and value.shape[value.dim() - len(fs) + 1 :] == fs[:-1]

    # dist is built from family: narrowed without a per-call cast
    def log_prob_value(  # type: ignore[override]
        self, dist: torch.distributions.OneHotCategorical, value: torch.Tensor
    ) -> torch.Tensor:
        if value.is_floating_point():
            return _one_hot_log_prob(self, dist.logits, value)
        fs = self.features_shape_of(dist, value)
        if value.dim() > len(fs) and value.shape[value.dim() - len(fs) :] == fs:  # integer one-hot
            return _one_hot_log_prob(self, dist.logits, value.to(dist.logits.dtype))
        return _label_log_prob(dist.logits, value)


# -- analytic KL pairs and entropies -------------------------------------------------------
def kl_categorical_onehot(
    p: torch.distributions.Categorical | torch.distributions.OneHotCategorical,
    q: torch.distributions.Categorical | torch.distributions.OneHotCategorical,
) -> torch.Tensor:
    """KL between a label-valued and a one-hot categorical (either order): the same KL.

    .. math:: D_{KL}[p \\| q] = \\sum_k p_k (\\log p_k - \\log q_k)

    torch.distributions.kl has Categorical-Categorical and OneHotCategorical-
    OneHotCategorical but not the mixed pairs, which arise when a dgmcore
    :class:`Categorical` posterior meets a :class:`OneHotCategorical` prior.

    Example:
        >>> import torch
        >>> D = torch.distributions
        >>> p, q = D.Categorical(torch.tensor([0.5, 0.5])), D.OneHotCategorical(torch.tensor([0.9, 0.1]))
        >>> kl_categorical_onehot(p, q)  # 0.5 log(0.5/0.9) + 0.5 log(0.5/0.1)
        tensor(0.5108)
    """
    return torch.distributions.kl_divergence(
        torch.distributions.Categorical(logits=p.logits), torch.distributions.Categorical(logits=q.logits)
    )


# Registered on this plugin's classes (and their subclasses), not on the torch types, so
# that other plugins' categorical families are left as they are.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = [
    (Categorical, OneHotCategorical, kl_categorical_onehot),
    (OneHotCategorical, Categorical, kl_categorical_onehot),
]
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
