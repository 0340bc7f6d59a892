""":class:`Deterministic` and :class:`EmpiricalDistribution`: distributions without density."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from dgmcore import memo
from dgmcore.distributions.base import Distribution, XDict, check_x_dict
from dgmcore.distributions.forward import run_forward
from dgmcore.errors import InputTypeError, NoDensityError

__all__ = ["Deterministic", "EmpiricalDistribution"]


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

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Compute the variables (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def get_params(self, x_dict: XDict | None = None) -> dict[str, torch.Tensor]:
        """The computed variables (memoized like any distribution's parameters).

        Returns a new dict each call: changing it leaves the memo intact.
        """
        x_dict = check_x_dict(x_dict, self)
        inputs = self._inputs(x_dict)
        store = memo._state.store
        key = None
        if store is not None and self.memo and inputs:
            # grad mode is part of the key: a value computed under no_grad has no graph
            key = (
                self,
                torch.is_grad_enabled(),
                *[(id(t), getattr(t, "_version", 0)) for t in inputs.values()],
            )
            entry = store.get(key)
            if entry is not None:
                return dict(entry[0])
        out = run_forward(self, inputs)
        missing = [v for v in self._var if v not in out]
        if missing:
            raise InputTypeError(
                f"forward of {self.prob_text} must return {list(self._var)}, got {sorted(out)}"
            )
        if key is not None:
            store[key] = (out, list(inputs.values()))  # type: ignore[index]
            return dict(out)
        return out

    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
    ) -> XDict:
        x_dict = check_x_dict(x_dict, self)
        out = self.get_params(x_dict)
        shape = self._sample_shape(sample_shape)
        if shape:  # the value is the same for every sample: expand, no copy
            new = {v: out[v].expand(*shape, *out[v].shape) for v in self._var}
        else:
            new = {v: out[v] for v in self._var}
        if return_all:
            merged = dict(x_dict)
            merged.update(new)
            return merged
        return new

    @property
    def has_reparam(self) -> bool:
        return True

    def sample_mean(self, x_dict: XDict | None = None) -> torch.Tensor:
        return self.sample(x_dict, return_all=False)[self._var[0]]

    def sample_variance(self, x_dict: XDict | None = None) -> torch.Tensor:
        return torch.zeros_like(self.sample_mean(x_dict))


class EmpiricalDistribution(Distribution):
    """The data distribution: "sampling" returns the observed values.

    Used as the data side of adversarial objectives. It has no density.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import EmpiricalDistribution
        >>> p_data = EmpiricalDistribution(["x"])
        >>> x = torch.randn(5, 2)
        >>> p_data.sample({"x": x}, return_all=False)["x"] is x
        True
    """

    distribution_name = "Data distribution"

    def __init__(self, var: str | Sequence[str], name: str = "p_{data}") -> None:
        super().__init__(var=var, cond_var=(), name=name)

    @property
    def input_var(self) -> list[str]:
        return list(self._var)

    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
    ) -> XDict:
        x_dict = check_x_dict(x_dict, self)
        try:
            new = {v: x_dict[v] for v in self._var}
        except KeyError as err:
            raise self._missing(err, x_dict) from None
        shape = self._sample_shape(sample_shape)
        if shape:  # the data, once per sample: expand, no copy
            new = {v: t.expand(*shape, *t.shape) for v, t in new.items()}
        if return_all:
            out = dict(x_dict)
            out.update(new)
            return out
        return new

    @property
    def has_reparam(self) -> bool:
        return True  # nothing to differentiate: no score-function term is needed

    def get_log_prob(self, x_dict: XDict, sum_features: bool = True, feature_dims=None):  # type: ignore[no-untyped-def]
        raise NoDensityError(
            f"{self.prob_text} is the empirical data distribution and has no density"
        )
