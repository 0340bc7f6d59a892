"""Losses that are values: :class:`ValueLoss`, :class:`Parameter`, :class:`ConstantVar`."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import torch

from dgmcore.errors import InputTypeError, MissingVariableError
from dgmcore.losses._base import Loss, XDict

__all__ = ["ValueLoss", "Parameter", "ConstantVar"]


class ValueLoss(Loss):
    """A constant: ``ValueLoss(2.0)``. Numbers in loss arithmetic become these.

    Example:
        >>> from dgmcore.losses import Parameter, ValueLoss
        >>> ValueLoss(2.0).eval()
        tensor(2.)
        >>> type((Parameter("a") + 1).b).__name__
        'ValueLoss'
    """

    def __init__(self, value: float | torch.Tensor) -> None:
        super().__init__(())
        self.value = value
        self._tensor = _scalar(value)
        # a constant's negative is free: a sum that subtracts it needs no negation in the graph
        self._negated = None if self._tensor.requires_grad else -self._tensor

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self._tensor

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        if prefer_negated and self._negated is not None:
            return self._negated, True
        return self._tensor, False

    def _text(self) -> str:
        v = self.value.item() if isinstance(self.value, torch.Tensor) else self.value
        return str(v)

    def _symbolic(self) -> Any:
        import sympy

        v = self.value.item() if isinstance(self.value, torch.Tensor) else self.value
        return sympy.Integer(v) if float(v).is_integer() and isinstance(v, int) else sympy.Float(v)


def _scalar(value: Any) -> torch.Tensor:
    """A real number or a 0-dim real tensor as a tensor of the default float dtype."""
    if isinstance(value, torch.Tensor):
        if value.dim():
            raise InputTypeError(
                f"ValueLoss needs a number or a 0-dim tensor, got a tensor of shape {tuple(value.shape)}; "
                "a value per batch element is a Parameter supplied through x_dict"
            )
        if value.is_complex():
            raise InputTypeError(f"ValueLoss needs a real number, got {value!r}")
        return value.to(torch.get_default_dtype()) if not value.is_floating_point() else value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"ValueLoss needs a real number, got {type(value).__name__} {value!r}")
    return torch.as_tensor(float(value), dtype=torch.get_default_dtype())


class Parameter(Loss):
    """A value supplied through ``x_dict`` at evaluation, e.g. a KL weight β.

    Example:
        >>> from dgmcore.losses import Parameter
        >>> Parameter("beta").eval({"beta": 0.5}).item()
        0.5
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"Parameter needs a variable name, got {name!r}")
        super().__init__((name,))
        self.name = name

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        try:
            value = x[self.name]
        except KeyError:
            raise MissingVariableError(self.name, f"the loss Parameter({self.name!r})", x) from None
        if isinstance(value, torch.Tensor):
            return value
        if isinstance(value, numbers.Number):
            return torch.as_tensor(value, dtype=torch.get_default_dtype())
        raise InputTypeError(
            f"Parameter({self.name!r}) must be a number or a tensor, got {type(value).__name__}"
        )

    def _text(self) -> str:
        return self.name

    def _symbolic(self) -> Any:
        import sympy

        return sympy.Symbol(self.name)


class ConstantVar(Loss):
    """Evaluate ``loss`` with some variables fixed: ``ConstantVar(loss, {"beta": 0.1})``.

    The constants take precedence over the caller's values of the same
    variables; the caller's dict is copied, never mutated.

    Args:
        loss: the loss to evaluate.
        constant_var: the variables to fix, and their values.

    Example:
        >>> from dgmcore.losses import ConstantVar, Parameter
        >>> loss = ConstantVar(Parameter("beta") * Parameter("kl"), {"beta": 0.5})
        >>> loss.input_var
        ['kl']
        >>> loss.eval({"kl": 4.0})
        tensor(2.)
    """

    def __init__(self, loss: Loss, constant_var: Mapping[str, Any]) -> None:
        if not isinstance(loss, Loss):
            raise InputTypeError(f"ConstantVar needs a Loss to evaluate, got {type(loss).__name__}")
        if not isinstance(constant_var, Mapping):
            raise InputTypeError(
                f"ConstantVar({loss}, ...) needs a dict of constants, got {type(constant_var).__name__}"
            )
        unknown = [v for v in constant_var if v not in loss._input_var]
        if unknown:  # a typo would leave the variable free and the constant unused
            raise InputTypeError(
                f"ConstantVar: {loss} has no variable(s) {unknown} to fix; its variables are "
                f"{list(loss._input_var)}"
            )
        self.loss = loss
        self.constant_var = dict(constant_var)
        super().__init__(v for v in self.loss._input_var if v not in self.constant_var)

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        merged = dict(x)
        merged.update(self.constant_var)
        return self.loss._eval(merged, samples)

    def _text(self) -> str:
        return self.loss._text()

    def _symbolic(self) -> Any:
        return self.loss._symbolic()

    @property
    def _precedence(self) -> int:  # type: ignore[override]
        return self.loss._precedence
