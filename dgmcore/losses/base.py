"""The :class:`Loss` base class and loss arithmetic."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch

from dgmcore import memo
from dgmcore.distributions.base import check_x_dict
from dgmcore.errors import InputTypeError, MissingVariableError, ShapeError

__all__ = [
    "Loss",
    "ValueLoss",
    "Parameter",
    "ConstantVar",
    "MinLoss",
    "MaxLoss",
]

XDict = dict[str, Any]


def _merge(*groups: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for g in groups:
        for v in g:
            if v not in out:
                out.append(v)
    return tuple(out)


def as_loss(value: Any) -> Loss:
    """A loss as is; a number as :class:`ValueLoss`; anything else is an error."""
    if isinstance(value, Loss):
        return value
    if isinstance(value, numbers.Number) or (isinstance(value, torch.Tensor) and value.dim() == 0):
        return ValueLoss(value)
    raise InputTypeError(f"cannot combine a loss with {type(value).__name__}; use a Loss or a number")


class Loss:
    """A term of an objective, evaluated on a dict of variables.

    Losses combine with ``+ - * /`` (with losses or numbers, on either side),
    unary ``-`` and ``abs()``; ``.mean()`` / ``.sum()`` reduce over the batch;
    ``.expectation(p)`` takes the expectation over ``p``. A loss evaluates to
    one value per batch element until it is reduced.

    Subclass requirements: call ``super().__init__(input_var)`` and implement
    ``_eval(x_dict, samples)`` (return the value; put any variables sampled
    into ``samples`` when it is not ``None``), ``_text()`` (the plain-text
    formula) and ``_symbolic()`` (a sympy expression, see :mod:`dgmcore.latex`).

    Example:
        >>> from dgmcore.losses import Parameter, ValueLoss
        >>> loss = 2 * Parameter("beta") + ValueLoss(1.0)
        >>> str(loss)
        '2 * beta + 1.0'
        >>> loss.eval({"beta": 3.0}).item()
        7.0
    """

    #: Precedence for the plain-text formula (higher binds tighter).
    _precedence = 4

    def __init__(self, input_var: Iterable[str] = ()) -> None:
        self._input_var = tuple(input_var)

    @property
    def input_var(self) -> list[str]:
        """The variables :meth:`eval` needs in ``x_dict``."""
        return list(self._input_var)

    # -- evaluation -----------------------------------------------------------------
    def eval(
        self, x_dict: Mapping[str, Any] | None = None, return_dict: bool = False, return_all: bool = True
    ) -> Any:
        """Evaluate the loss.

        Opens a memo scope (re-entrant) so that each network runs once.

        Args:
            x_dict: the observed variables (and parameters such as a KL weight).
            return_dict: also return the variables drawn while evaluating.
            return_all: with ``return_dict``, return ``x_dict``'s entries as well.

        Returns:
            The value, or ``(value, dict)`` when ``return_dict``.

        Raises:
            InputTypeError: ``x_dict`` is not a dict of tensors.
            MissingVariableError: a variable the loss needs is not in ``x_dict``.
            ShapeError: terms disagree in batch size, or a value does not fit
                its distribution's ``features_shape``.
        """
        x = check_x_dict(x_dict, self)
        state = memo._state
        if state.depth:  # nested: share the outer scope
            return self._eval_outer(x, return_dict, return_all)
        state.depth = 1
        state.store = None if state.disabled else {}
        try:
            return self._eval_outer(x, return_dict, return_all)
        finally:
            state.depth = 0
            state.store = None
            state.sample_ndim = 0

    __call__ = eval

    def _eval_outer(self, x: XDict, return_dict: bool, return_all: bool) -> Any:
        if not return_dict:
            return self._eval(x, None)
        samples: XDict = {}
        value = self._eval(x, samples)
        if return_all:
            out = dict(x)
            out.update(samples)
            return value, out
        return value, samples

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement _eval")

    # -- text ------------------------------------------------------------------------
    def _text(self) -> str:
        return type(self).__name__

    def _symbolic(self) -> Any:
        from dgmcore.latex import symbol

        return symbol(self._text(), self._text())

    def symbolic(self) -> Any:
        """The formula as an (unevaluated) sympy expression."""
        return self._symbolic()

    def __str__(self) -> str:
        return self._text()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self._text()}>"

    @property
    def latex(self) -> str:
        """The formula in LaTeX, terms in the order written."""
        from dgmcore.latex import loss_latex

        return loss_latex(self)

    def print_latex(self) -> None:
        """Print :attr:`latex`."""
        print(self.latex)

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    # -- arithmetic --------------------------------------------------------------------
    def __add__(self, other: Any) -> Loss:
        return BinaryLoss(self, as_loss(other), "+")

    def __radd__(self, other: Any) -> Loss:
        return BinaryLoss(as_loss(other), self, "+")

    def __sub__(self, other: Any) -> Loss:
        return BinaryLoss(self, as_loss(other), "-")

    def __rsub__(self, other: Any) -> Loss:
        return BinaryLoss(as_loss(other), self, "-")

    def __mul__(self, other: Any) -> Loss:
        return BinaryLoss(self, as_loss(other), "*")

    def __rmul__(self, other: Any) -> Loss:
        return BinaryLoss(as_loss(other), self, "*")

    def __truediv__(self, other: Any) -> Loss:
        return BinaryLoss(self, as_loss(other), "/")

    def __rtruediv__(self, other: Any) -> Loss:
        return BinaryLoss(as_loss(other), self, "/")

    def __neg__(self) -> Loss:
        return UnaryLoss(self, "neg")

    def __abs__(self) -> Loss:
        return UnaryLoss(self, "abs")

    def abs(self) -> Loss:
        """``|loss|`` elementwise."""
        return UnaryLoss(self, "abs")

    def mean(self) -> Loss:
        """The mean over the batch (a scalar)."""
        return UnaryLoss(self, "mean")

    def sum(self) -> Loss:
        """The sum over the batch (a scalar)."""
        return UnaryLoss(self, "sum")

    def detach(self) -> Loss:
        """The same value, with no gradient flowing back."""
        return UnaryLoss(self, "detach")

    def expectation(self, p: Any, sample_shape: Iterable[int] = (1,), reparam: bool = True) -> Loss:
        """:math:`\\mathbb{E}_{p}[\\text{self}]` (an :class:`~dgmcore.losses.Expectation`)."""
        from dgmcore.losses.expectation import Expectation

        return Expectation(p, self, sample_shape=sample_shape, reparam=reparam)

    def compile(self, **compile_kwargs: Any) -> Loss:
        """This loss compiled with ``torch.compile`` (same values and gradients).

        Args:
            **compile_kwargs: passed to ``torch.compile`` (e.g. ``mode``).
        """
        from dgmcore.losses.compiled import CompiledLoss

        return CompiledLoss(self, **compile_kwargs)

    def __bool__(self) -> bool:
        raise TypeError(
            f"the truth value of a loss ({self._text()}) is undefined; evaluate it first"
        )


_OPS: dict[str, tuple[Callable[[Any, Any], Any], int, str]] = {
    "+": (torch.add, 1, "+"),
    "-": (torch.sub, 1, "-"),
    "*": (torch.mul, 2, "*"),
    "/": (torch.div, 2, "/"),
}


class BinaryLoss(Loss):
    """``a op b`` for op in ``+ - * /``; both sides must agree in batch size."""

    def __init__(self, a: Loss, b: Loss, op: str) -> None:
        super().__init__(_merge(a._input_var, b._input_var))
        self.a, self.b, self.op = a, b, op
        self._fn, self._precedence, _ = _OPS[op]

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        va = self.a._eval(x, samples)
        vb = self.b._eval(x, samples)
        try:
            return self._fn(va, vb)
        except RuntimeError as err:
            try:
                torch.broadcast_shapes(va.shape, vb.shape)
            except RuntimeError:
                raise ShapeError(
                    f"cannot combine {self.a} (shape {tuple(va.shape)}) {self.op} {self.b} "
                    f"(shape {tuple(vb.shape)}): the terms disagree in batch size"
                ) from err
            raise  # not a shape problem (devices, dtypes): torch's own message says what

    def _text(self) -> str:
        p = self._precedence
        left = self.a._text()
        if self.a._precedence < p:
            left = f"({left})"
        right = self.b._text()
        # right operand of - and / needs brackets at equal precedence too
        if self.b._precedence < p or (self.b._precedence == p and self.op in "-/"):
            right = f"({right})"
        return f"{left} {self.op} {right}"

    def _symbolic(self) -> Any:
        import sympy

        a, b = self.a._symbolic(), self.b._symbolic()
        if self.op in "+-":
            # flatten so that a + b - c prints without brackets, in the written order
            left = list(a.args) if isinstance(a, sympy.Add) else [a]
            if self.op == "-":
                return sympy.Add(*left, sympy.Mul(-1, b, evaluate=False), evaluate=False)
            right = list(b.args) if isinstance(b, sympy.Add) else [b]
            return sympy.Add(*left, *right, evaluate=False)
        if self.op == "*":
            return sympy.Mul(a, b, evaluate=False)
        return sympy.Mul(a, sympy.Pow(b, -1, evaluate=False), evaluate=False)


class UnaryLoss(Loss):
    """``-a``, ``|a|``, the batch mean or sum of ``a``, or ``a`` detached."""

    _fns: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "neg": torch.neg,
        "abs": torch.abs,
        "mean": torch.mean,
        "sum": torch.sum,
        "detach": torch.Tensor.detach,
    }

    def __init__(self, a: Loss, op: str) -> None:
        super().__init__(a._input_var)
        self.a, self.op = a, op
        self._fn = self._fns[op]
        self._precedence = 3 if op == "neg" else 4

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self._fn(self.a._eval(x, samples))

    def _text(self) -> str:
        inner = self.a._text()
        if self.op == "neg":
            return f"-({inner})" if self.a._precedence < 3 else f"-{inner}"
        if self.op == "abs":
            return f"|{inner}|"
        if self.op == "detach":
            return f"stopgrad[{inner}]"
        return f"{self.op}({inner})"

    def _symbolic(self) -> Any:
        import sympy

        from dgmcore.latex import symbol

        a = self.a._symbolic()
        if self.op == "neg":
            return sympy.Mul(-1, a, evaluate=False)
        if self.op == "abs":
            return sympy.Abs(a, evaluate=False)
        if self.op == "detach":
            return sympy.Function("stopgrad")(a)
        tex = "\\operatorname{mean}" if self.op == "mean" else "\\sum"
        return sympy.Mul(symbol(f"<{self.op}>", tex), a, evaluate=False)


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
        self._tensor = torch.as_tensor(value, dtype=torch.get_default_dtype())

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return self._tensor

    def _text(self) -> str:
        v = self.value.item() if isinstance(self.value, torch.Tensor) else self.value
        return str(v)

    def _symbolic(self) -> Any:
        import sympy

        v = self.value.item() if isinstance(self.value, torch.Tensor) else self.value
        return sympy.Integer(v) if float(v).is_integer() and isinstance(v, int) else sympy.Float(v)


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
        if not isinstance(constant_var, Mapping):
            raise InputTypeError(
                f"ConstantVar needs a dict of constants, got {type(constant_var).__name__}"
            )
        self.loss = as_loss(loss)
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


class _Extremum(Loss):
    _fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    _word = ""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = as_loss(a), as_loss(b)
        super().__init__(_merge(self.a._input_var, self.b._input_var))

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return type(self)._fn(self.a._eval(x, samples), self.b._eval(x, samples))

    def _text(self) -> str:
        return f"{self._word}({self.a._text()}, {self.b._text()})"

    def _symbolic(self) -> Any:
        from dgmcore.latex import loss_latex, symbol

        # not sympy.Min/Max: they sort their arguments
        tex = f"\\{self._word}\\left({loss_latex(self.a)}, {loss_latex(self.b)}\\right)"
        return symbol(self._text(), tex)


class MinLoss(_Extremum):
    """Elementwise minimum of two losses (either may be a number).

    Example:
        >>> import torch
        >>> from dgmcore.losses import MinLoss, Parameter
        >>> MinLoss(Parameter("a"), 1.0).eval({"a": torch.tensor([0.0, 2.0])})
        tensor([0., 1.])
    """

    _fn = staticmethod(torch.minimum)  # type: ignore[assignment]
    _word = "min"


class MaxLoss(_Extremum):
    """Elementwise maximum of two losses (either may be a number).

    Example:
        >>> import torch
        >>> from dgmcore.losses import MaxLoss, Parameter
        >>> MaxLoss(Parameter("a"), 1.0).eval({"a": torch.tensor([0.0, 2.0])})
        tensor([1., 2.])
    """

    _fn = staticmethod(torch.maximum)  # type: ignore[assignment]
    _word = "max"
