""":class:`Deterministic`: a variable computed by a network, without density."""

from __future__ import annotations

import numbers
from typing import Any

import torch

from dgmcore import memo
from dgmcore.distributions._base import Distribution
from dgmcore.distributions._forward import run_forward
from dgmcore.distributions._inputs import XDict, check_x_dict
from dgmcore.distributions._sample_dims import sample_dims
from dgmcore.errors import InputTypeError, ShapeError

__all__ = ["Deterministic"]


class Deterministic(Distribution):
    """A variable computed by a network: ``forward`` returns ``{var: value}``.

    Sampling runs ``forward``; there is no density, and asking for one raises
    :class:`~dgmcore.errors.NoDensityError`. Inside a joint distribution a
    deterministic factor contributes no density term: the joint's log-density is
    that of the other factors, given the computed value.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Deterministic
        >>> class Double(Deterministic):
        ...     def __init__(self):
        ...         super().__init__(var=["h"], cond_var=["z"])
        ...     def forward(self, z):
        ...         return {"h": 2 * z}
        >>> Double().sample({"z": torch.ones(2, 3)}, return_all=False)["h"].sum().item()
        12.0
    """

    distribution_name = "Deterministic"
    has_reparam = True  # a function of its inputs: gradients flow through it

    # (*args: Any, **inputs: Any): a subclass names its inputs, forward(self, x), and type-checks
    def forward(self, *args: Any, **inputs: Any) -> dict[str, torch.Tensor]:
        """Compute the variables (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        """The computed variables (memoized like any distribution's parameters).

        Returns a new dict each call: changing it leaves the memo intact.
        """
        return dict(self._computed(check_x_dict(x_dict, self)))

    def _computed(self, x_dict: XDict) -> XDict:
        """``forward``'s results for a checked ``x_dict``, memoized (the memo's own dict: read only)."""
        inputs = self._inputs(x_dict)
        _check_tensors(self, inputs, "its inputs", numbers_too=True)
        return memo.cached(self, list(inputs.values()), lambda: self._compute(inputs))

    def _compute(self, inputs: XDict) -> XDict:
        out = run_forward(self, inputs)
        try:
            results = {v: out[v] for v in self._var}
        except KeyError:
            raise InputTypeError(
                f"forward of {self.prob_text} must return {list(self._var)}, got {sorted(out)}"
            ) from None
        _check_tensors(self, results, "forward's results")
        return out

    def _draw(
        self, x_dict: XDict, batch_n: int | None, sample_shape: torch.Size, reparam: bool
    ) -> XDict:
        out = self._computed(x_dict)  # x_dict checked by the template; nothing here writes to out
        new = _batched(self, {v: out[v] for v in self._var}, batch_n, bool(self._cond_var))
        if sample_shape:  # the value is the same for every sample: expand, no copy
            new = {v: t.expand(*sample_shape, *t.shape) for v, t in new.items()}
        return new

    def _mean(self, x_dict: XDict) -> torch.Tensor:
        return self._draw(x_dict, None, torch.Size(), False)[self._var[0]]

    def _variance(self, x_dict: XDict) -> torch.Tensor:
        return torch.zeros_like(self._mean(x_dict))


def _check_tensors(p: Distribution, values: XDict, what: str, numbers_too: bool = False) -> None:
    """Refuse lists, strings and arrays (never converted silently); a number (a time step) when allowed."""
    for v in values.values():  # the common case, plain tensors, without isinstance
        if type(v) is not torch.Tensor:
            break
    else:
        return
    ok: tuple[type, ...] = (torch.Tensor, numbers.Number) if numbers_too else (torch.Tensor,)
    bad = {k: type(v).__name__ for k, v in values.items() if not isinstance(v, ok) or isinstance(v, bool)}
    if bad:
        kinds = "tensors or numbers" if numbers_too else "tensors"
        raise InputTypeError(f"{p.prob_text}: {what} must be {kinds}, got {bad}")


def _batched(p: Distribution, values: XDict, batch_n: int | None, has_batch: bool) -> XDict:
    """``values`` checked against ``batch_n``: its batch when they have one, else repeated to it."""
    if batch_n is None:
        return values
    if not has_batch:  # computed from nothing: one value, broadcast over the batch asked for
        return {v: t.expand(batch_n, *t.shape[1:]) if t.dim() and t.shape[0] == 1 else
                t.expand(batch_n, *t.shape) for v, t in values.items()}
    pos = sample_dims()
    for v, t in values.items():
        if t.dim() > pos and t.shape[pos] != batch_n:
            raise ShapeError(
                f"{p.prob_text}: batch_n={batch_n} disagrees with the batch size {t.shape[pos]} "
                f"of {v!r} {tuple(t.shape)}; drop batch_n"
            )
    return values
