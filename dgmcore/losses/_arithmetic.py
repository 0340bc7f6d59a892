"""Loss arithmetic: ``+ - * /``, unary ``-``, ``abs``, batch mean/sum, detach, min and max."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from dgmcore.distributions._sample_dims import sample_dims
from dgmcore.errors import InputTypeError, ShapeError
from dgmcore.losses._base import Loss, XDict, _merge, as_loss, unsigned

__all__ = ["BinaryLoss", "UnaryLoss", "MinLoss", "MaxLoss"]


_OPS: dict[str, tuple[Callable[[Any, Any], Any], int, str]] = {
    "+": (torch.add, 1, "+"),
    "-": (torch.sub, 1, "-"),
    "*": (torch.mul, 2, "*"),
    "/": (torch.div, 2, "/"),
}


def combine(owner: Any, fn: Callable[[Any, Any], Any], va: torch.Tensor, vb: torch.Tensor) -> torch.Tensor:
    """``fn(va, vb)`` for the two sides of ``owner``, refusing a broadcast that changes the batch.

    A loss keeps one value per batch element (with sample dims in front inside
    an expectation, and feature dims behind with ``sum_features=False``). Torch
    would broadcast a ``(B, 1)`` weight against a ``(B,)`` term into ``(B, B)``,
    so the result's shape is compared with the sides' (sizes at hand, no
    values): it must be the shape of one side, and a side may lack only the
    sample dims that the other carries.

    Raises:
        ShapeError: the sides disagree in batch size, or broadcasting them
            would give a shape that is not the batch's.
        InputTypeError: torch cannot combine them for another reason (dtype,
            device); torch's message is included.
    """
    try:
        out = fn(va, vb)
    except RuntimeError as err:
        try:
            torch.broadcast_shapes(va.shape, vb.shape)
        except RuntimeError:
            raise _shape_error(owner, va, vb, "the terms disagree in batch size") from err
        raise InputTypeError(
            f"cannot evaluate {owner}: {owner.a} ({_describe(va)}) and {owner.b} "
            f"({_describe(vb)}) do not combine: {err}"
        ) from err
    sa, sb = va.shape, vb.shape
    # hot path: equal shapes, or a number (0-dim) on one side
    if sa != sb and sa and sb and not _keeps_batch(out.shape, sa, sb):
        raise _shape_error(
            owner,
            va,
            vb,
            f"broadcasting them gives shape {tuple(out.shape)}, not one value per batch element. "
            "A weight per batch element has the shape (batch,) of the term it weights, or is a number",
        )
    return out


def _keeps_batch(out: torch.Size, sa: torch.Size, sb: torch.Size) -> bool:
    missing = len(sa) - len(sb)
    if not missing:  # (B, F) with (B, 1) is fine; (B, 1) with (1, B) makes (B, B)
        return out == sa or out == sb
    # the side with fewer dims is broadcast over leading dims: only sample dims may be missing
    return out == (sa if missing > 0 else sb) and abs(missing) <= sample_dims()


def _describe(v: torch.Tensor) -> str:
    return f"shape {tuple(v.shape)}, {v.dtype}, {v.device}"


def _shape_error(owner: Any, va: torch.Tensor, vb: torch.Tensor, why: str) -> ShapeError:
    return ShapeError(
        f"cannot evaluate {owner}: {owner.a} has shape {tuple(va.shape)} and {owner.b} shape "
        f"{tuple(vb.shape)}; {why}"
    )


class BinaryLoss(Loss):
    """``a op b`` for op in ``+ - * /``; both sides must agree in batch size.

    A sum or difference takes each side in the sign it computes cheaply and
    adds or subtracts accordingly, so that ``a - b`` with ``b`` given as its
    negative (a cross-entropy) is one addition, and ``-(a - b)`` is ``b - a``.
    """

    def __init__(self, a: Loss, b: Loss, op: str) -> None:
        super().__init__(_merge(a._input_var, b._input_var))
        self.a, self.b, self.op = a, b, op
        self._fn, self._precedence, _ = _OPS[op]
        self._additive = op in "+-"
        self._sub = op == "-"

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return unsigned(self._eval_signed(x, samples, False))

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        ta, na = self.a._signed(x, samples, prefer_negated)
        if not self._additive:  # (-a) * b = -(a * b), a / (-b) = -(a / b)
            tb, nb = self.b._signed(x, samples, False)
            return self._apply(self._fn, ta, tb), na != nb
        # a - b: b is wanted with the opposite sign
        tb, nb = self.b._signed(x, samples, prefer_negated != self._sub)
        a_negative = na  # the value is (-ta if a_negative else ta) + (-tb if b_negative else tb)
        b_negative = nb != self._sub
        if a_negative == b_negative:  # ta + tb is the value, or its negative
            return self._apply(torch.add, ta, tb), a_negative
        # one side enters negatively: one subtraction gives either sign
        if a_negative == prefer_negated:
            return self._apply(torch.sub, ta, tb), prefer_negated
        return self._apply(torch.sub, tb, ta), prefer_negated

    def _apply(
        self, fn: Callable[[Any, Any], Any], va: torch.Tensor, vb: torch.Tensor
    ) -> torch.Tensor:
        return combine(self, fn, va, vb)

    def _text(self) -> str:
        p = self._precedence
        left = self.a._text()
        if self.a._precedence < p:
            left = f"({left})"
        right = self.b._text()
        # right operand of - and / needs brackets at equal precedence too; a negative one
        # always does (a - (-b), not a - -b)
        if (
            self.b._precedence < p
            or (self.b._precedence == p and self.op in "-/")
            or right.startswith("-")
        ):
            right = f"({right})"
        return f"{left} {self.op} {right}"

    def _symbolic(self) -> Any:
        import sympy

        a, b = self.a._symbolic(), self.b._symbolic()
        if self.op in "+-":
            # flatten so that a + b - c prints without brackets, in the written order
            left = list(a.args) if isinstance(a, sympy.Add) else [a]
            if self.op == "-":
                if self.b._text().startswith("-"):  # a - (-b): sympy would print a - - b
                    from dgmcore.latex import loss_latex, symbol

                    b = symbol(f"({self.b._text()})", f"\\left({loss_latex(self.b)}\\right)")
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
        return unsigned(self._eval_signed(x, samples, False))

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        op = self.op
        if op == "neg":  # nothing to compute: the sign is handed on
            value, negated = self.a._signed(x, samples, not prefer_negated)
            return value, not negated
        if op == "abs":
            return torch.abs(self.a._signed(x, samples, False)[0]), False
        value, negated = self.a._signed(x, samples, prefer_negated)  # linear: mean, sum, detach
        return self._fn(value), negated

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


class _Extremum(Loss):
    _fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    _word = ""

    def __init__(self, a: Any, b: Any) -> None:
        self.a, self.b = _operand(a, self._word), _operand(b, self._word)
        super().__init__(_merge(self.a._input_var, self.b._input_var))

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return combine(self, type(self)._fn, self.a._eval(x, samples), self.b._eval(x, samples))

    def _text(self) -> str:
        return f"{self._word}({self.a._text()}, {self.b._text()})"

    def _symbolic(self) -> Any:
        from dgmcore.latex import loss_latex, symbol

        # not sympy.Min/Max: they sort their arguments
        tex = f"\\{self._word}\\left({loss_latex(self.a)}, {loss_latex(self.b)}\\right)"
        return symbol(self._text(), tex)


def _operand(value: Any, word: str) -> Loss:
    try:
        return as_loss(value)
    except InputTypeError:
        raise InputTypeError(
            f"{word.capitalize()}Loss takes two losses or numbers, got {type(value).__name__} {value!r}"
        ) from None


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
