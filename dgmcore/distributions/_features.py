"""The feature dimensions of a :class:`ParametricDistribution` and its per-call shape check."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from dgmcore import memo
from dgmcore.distributions._inputs import XDict
from dgmcore.distributions._sample_dims import sample_dims
from dgmcore.distributions._shapes import check_lead, check_tensors, lead_error
from dgmcore.errors import ShapeError

if TYPE_CHECKING:
    pass

__all__ = ["FeatureDims"]


class FeatureDims:
    """How many trailing dims of the parameters are features, and the check every call makes.

    Mixed into :class:`~dgmcore.distributions.ParametricDistribution`, whose
    state the methods read (their ``self`` is one).
    """

    if TYPE_CHECKING:  # set by ParametricDistribution's constructor
        _declared: bool
        _has_inputs: bool
        _features_shape: torch.Size
        _cond_var: tuple[str, ...]
        _constant_cache: tuple[Any, ...] | None
        _constant_checked: tuple[Any, ...] | None

        def _entry(self, x_dict: XDict) -> tuple[dict[str, Any], torch.distributions.Distribution]: ...

    def feature_ndim(
        self, dist: torch.distributions.Distribution, value: Tensor | None = None
    ) -> int:
        """Number of trailing batch dims of ``dist`` that are feature dims.

        Declared by ``features_shape``; else a function of the shapes at hand,
        computed on every call and never kept: all dims after the sample and
        batch dims. Inside a loss, a conditioned distribution's parameters
        carry the loss's sample dims only when its inputs do; when ``value``
        (the tensor being scored) has exactly those sample dims more than the
        parameters, the parameters lack them (``p(z|z_prev)`` with ``z`` drawn
        and ``z_prev`` observed).

        Raises:
            ShapeError: the parameters of a conditioned distribution have no
                batch dim in front of the features.
        """
        bs = dist.batch_shape
        if self._declared:
            n = max(len(self._features_shape) - len(dist.event_shape), 0)
        elif self._has_inputs:
            s = sample_dims()
            lead = 1 + s
            if s and value is not None and value.dim() - len(dist.event_shape) - len(bs) == s:
                lead = 1  # the parameters lack the sample dims the value carries
            n = max(len(bs) - lead, 0)
        else:
            n = len(bs)  # constants: every batch dim of the family is a feature
        # O(1): a batch summed away as features would be a silent wrong answer. (Sample dims
        # may be absent: parameters built from inputs without them score sampled values.)
        if self._has_inputs and len(bs) <= n:
            raise lead_error(self, dist, n)  # type: ignore[arg-type]
        return n

    def features_shape_of(
        self, dist: torch.distributions.Distribution, value: Tensor | None = None
    ) -> torch.Size:
        """The features of one sample under ``dist``: declared, else inferred from the shapes at hand."""
        if self._declared:
            return self._features_shape
        full = dist.batch_shape + dist.event_shape
        return full[len(dist.batch_shape) - self.feature_ndim(dist, value) :]

    def _checked(
        self, x_dict: XDict, value: torch.Tensor | None = None
    ) -> tuple[torch.distributions.Distribution, int]:
        """The torch object and its feature dims, its shapes checked against the inputs.

        Within a memo scope the answer is memoized with the entry it was checked
        for (a distribution sampled and scored in one loss checks once), when
        the value cannot change it: no sample dims, or no value.
        """
        entry = self._entry(x_dict)
        if not self._has_inputs:
            # an input-free distribution's check is a function of its entry alone (no inputs, no
            # sample dims, the value unread): kept with the cached entry, rechecked when rebuilt
            kept = self._constant_checked
            if kept is not None and kept[0] is entry:
                return kept[1]  # type: ignore[no-any-return]
            checked = self._check_entry(entry, x_dict, value)
            cache = self._constant_cache
            if cache is not None and cache[1] is entry:
                self._constant_checked = (entry, checked)
            return checked
        s = sample_dims()
        if (value is None or s == 0) and memo.is_active() and not torch.compiler.is_compiling():
            # stored with the entry itself, which the store keeps alive until the scope closes,
            # so no other entry can have its id meanwhile (an unmemoized one is rebuilt per call)
            kept, checked = memo.cached(
                (self, id(entry), s), (), lambda: (entry, self._check_entry(entry, x_dict, value))
            )
            if kept is entry:
                return checked  # type: ignore[no-any-return]
        return self._check_entry(entry, x_dict, value)

    def _check_entry(
        self,
        entry: tuple[dict[str, Any], torch.distributions.Distribution],
        x_dict: XDict,
        value: torch.Tensor | None,
    ) -> tuple[torch.distributions.Distribution, int]:
        dist = entry[1]
        try:
            n = self.feature_ndim(dist, value)
        except ShapeError:
            given = {v: x_dict[v] for v in self._cond_var if _is_number(x_dict.get(v))}
            if given:  # a number for a conditioning variable: one example, as Pixyz reads it (D8)
                ones = (1,) * (1 + len(self._features_shape))
                tensors = {v: torch.full(ones, float(t)) for v, t in given.items()}
                return self._checked({**x_dict, **tensors}, value)
            check_tensors(self, x_dict, self._cond_var)  # type: ignore[arg-type]  # a list or an array says so
            raise
        if self._has_inputs:
            dist = check_lead(self, dist, n, x_dict)  # type: ignore[arg-type]
        return dist, n



def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)
