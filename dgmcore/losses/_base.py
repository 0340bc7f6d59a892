"""The :class:`Loss` base class: evaluation, text, and the operators that build losses."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any, cast

import torch

from dgmcore import memo
from dgmcore.distributions._inputs import check_x_dict
from dgmcore.distributions._views import fast_view
from dgmcore.errors import InputTypeError

__all__ = ["Loss", "as_loss", "unsigned"]

XDict = dict[str, Any]

#: Per loss class: whether its ``_eval_signed`` may stand for its ``_eval`` (fixed per class).
_VIEWS: dict[type, bool] = {}


def _merge(*groups: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for g in groups:
        for v in g:
            if v not in out:
                out.append(v)
    return tuple(out)


def as_loss(value: Any, owner: Any = None) -> Loss:
    """A loss as is; a number as :class:`ValueLoss`; anything else is an error naming ``owner``."""
    if isinstance(value, Loss):
        return value
    if isinstance(value, numbers.Number) or (isinstance(value, torch.Tensor) and value.dim() == 0):
        from dgmcore.losses._values import ValueLoss  # subclasses Loss

        # typeshed's numbers.Number is opaque; ValueLoss takes any number torch.as_tensor does
        return ValueLoss(cast("float | torch.Tensor", value))
    if not isinstance(value, torch.Tensor) and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        return as_loss(value.item(), owner)  # a NumPy scalar array is a number
    what = f"the loss {owner}" if owner is not None else "a loss"
    raise InputTypeError(
        f"cannot combine {what} with {type(value).__name__} {value!r}; use a Loss or a number"
    )


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
    A term computed most cheaply as its negative may also implement the
    optional faster view ``_eval_signed`` (docs/writing-losses.md); composite
    losses evaluate their terms through :meth:`_signed`, which uses the view
    only where it is defined at or below the class that defines ``_eval``, so
    a subclass that overrides ``_eval`` alone is never bypassed.

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
        with memo.scope():  # re-entrant: a nested eval shares the outer scope
            return self._eval_outer(x, return_dict, return_all)

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

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        """``(value, negated)``: an optional faster view of :meth:`_eval`.

        The value, or its negative when ``negated``. Lets a term computed most
        cheaply with the opposite sign (a cross-entropy standing for a
        log-likelihood, a difference) reach a sum or a difference without a
        negation of its own: ``-ELBO`` and ``KL - E[log p(x|z)]`` add the
        binary cross-entropy, as a hand-written loss does. ``prefer_negated``
        is the sign the caller would rather have; an override may ignore it.
        This default is never called by :meth:`_signed`.
        """
        return self._eval(x, samples), False

    def _signed(self, x: XDict, samples: XDict | None, prefer_negated: bool) -> tuple[torch.Tensor, bool]:
        """``(value, negated)`` of this term: what a composite loss calls on its terms."""
        view = _VIEWS.get(type(self))
        if view is None:
            view = _VIEWS[type(self)] = fast_view(type(self), "_eval_signed", "_eval", Loss)
        if view:
            return self._eval_signed(x, samples, prefer_negated)
        return self._eval(x, samples), False

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
    #: NumPy defers to the loss's reflected operators: ``np.array(1.0) + loss`` is ``loss + 1.0``'s twin
    __array_ufunc__ = None

    def __add__(self, other: Any) -> Loss:
        return _binary(self, as_loss(other, self), "+")

    def __radd__(self, other: Any) -> Loss:
        return _binary(as_loss(other, self), self, "+")

    def __sub__(self, other: Any) -> Loss:
        return _binary(self, as_loss(other, self), "-")

    def __rsub__(self, other: Any) -> Loss:
        return _binary(as_loss(other, self), self, "-")

    def __mul__(self, other: Any) -> Loss:
        return _binary(self, as_loss(other, self), "*")

    def __rmul__(self, other: Any) -> Loss:
        return _binary(as_loss(other, self), self, "*")

    def __truediv__(self, other: Any) -> Loss:
        return _binary(self, as_loss(other, self), "/")

    def __rtruediv__(self, other: Any) -> Loss:
        return _binary(as_loss(other, self), self, "/")

    def __neg__(self) -> Loss:
        return _unary(self, "neg")

    def __abs__(self) -> Loss:
        return _unary(self, "abs")

    def abs(self) -> Loss:
        """``|loss|`` elementwise."""
        return _unary(self, "abs")

    def mean(self) -> Loss:
        """The mean over the batch (a scalar)."""
        return _unary(self, "mean")

    def sum(self) -> Loss:
        """The sum over the batch (a scalar)."""
        return _unary(self, "sum")

    def detach(self) -> Loss:
        """The same value, with no gradient flowing back."""
        return _unary(self, "detach")

    def expectation(self, p: Any, sample_shape: Iterable[int] = (1,), reparam: bool = True) -> Loss:
        """:math:`\\mathbb{E}_{p}[\\text{self}]` (an :class:`~dgmcore.losses.Expectation`)."""
        from dgmcore.losses._expectation import Expectation

        return Expectation(p, self, sample_shape=sample_shape, reparam=reparam)

    def compile(self, **compile_kwargs: Any) -> Loss:
        """This loss compiled with ``torch.compile`` (same values and gradients).

        Args:
            **compile_kwargs: passed to ``torch.compile`` (e.g. ``mode``).
        """
        from dgmcore.losses._compiled import CompiledLoss

        return CompiledLoss(self, **compile_kwargs)

    def __bool__(self) -> bool:
        raise InputTypeError(
            f"the truth value of a loss ({self._text()}) is undefined; evaluate it first"
        )


def unsigned(signed: tuple[torch.Tensor, bool]) -> torch.Tensor:
    """The value of a ``(value, negated)`` pair (from ``_eval_signed``)."""
    value, negated = signed
    return -value if negated else value


def _binary(a: Loss, b: Loss, op: str) -> Loss:
    from dgmcore.losses._arithmetic import BinaryLoss  # subclasses Loss: imported when first needed

    return BinaryLoss(a, b, op)


def _unary(a: Loss, op: str) -> Loss:
    from dgmcore.losses._arithmetic import UnaryLoss

    return UnaryLoss(a, op)
