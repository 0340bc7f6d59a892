"""LaTeX rendering of distributions, losses and models with sympy; :func:`print_latex`.

Each distribution or loss leaf becomes a sympy symbol that prints as its own
LaTeX; operators become unevaluated sympy ``Add``/``Mul``/``Pow`` nodes, printed
with ``order="none"`` so the terms keep the order the user wrote them in.
sympy is imported only when LaTeX is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dgmcore.errors import InputTypeError

if TYPE_CHECKING:
    from dgmcore.distributions import Distribution
    from dgmcore.losses import Loss

__all__ = ["Latex", "distribution_latex", "loss_latex", "print_latex", "symbol", "var_latex"]


def var_latex(name: str) -> str:
    """LaTeX of a variable name (``z_t`` gives ``z_{t}``)."""
    import sympy

    return sympy.latex(sympy.Symbol(name))


def factor_latex(d: Distribution) -> str:
    """LaTeX of one factor, e.g. ``q(z|x)``."""
    text = ",".join(var_latex(v) for v in d.var)
    if d.cond_var:
        text += "|" + ",".join(var_latex(v) for v in d.cond_var)
    return f"{var_latex(d.name)}\\left({text}\\right)"


def distribution_latex(d: Distribution) -> str:
    """LaTeX of a distribution's factorised formula, e.g. ``p(x|z)p(z)``."""
    factors = d.factors()
    if len(factors) == 1:
        own = factors[0]
        if own is d:
            return factor_latex(d)
        return distribution_latex(own)
    body = " ".join(factor_latex(f) for f in factors)
    hidden = getattr(d, "_hidden", ())
    if hidden:
        return f"\\int {body} d{','.join(var_latex(v) for v in hidden)}"
    return body


_TEX: dict[str, str] = {}  # symbol name -> its LaTeX (names are formula texts)
_term_class: Any = None


def symbol(text: str, tex: str) -> Any:
    """A sympy symbol named ``text`` that prints as the LaTeX ``tex``."""
    global _term_class
    if _term_class is None:
        import sympy

        class Term(sympy.Symbol):
            def _latex(self, printer: Any) -> str:
                return _TEX[self.name]

        _term_class = Term
    _TEX[text] = tex
    return _term_class(text)


_printer: Any = None


def _ordered_printer() -> Any:
    """A sympy LaTeX printer that keeps the written order (built on first use)."""
    global _printer
    if _printer is None:
        from sympy.printing.latex import LatexPrinter
        from sympy.printing.precedence import PRECEDENCE

        class OrderedLatexPrinter(LatexPrinter):
            # sympy writes ``a * 2`` as "a 2" and ``-(a + b)`` as "- (a + b)"
            def _print_Mul(self, expr: Any) -> str:
                if len(expr.args) == 2:
                    left, right = expr.args
                    if right.is_Number and not left.is_Number:
                        prec = PRECEDENCE["Mul"]
                        return f"{self.parenthesize(left, prec)} \\cdot {self.parenthesize(right, prec)}"
                    if left == -1 and right.is_Add:
                        return f"- \\left({self._print(right)}\\right)"
                return super()._print_Mul(expr)

        _printer = OrderedLatexPrinter({"order": "none"})
    return _printer


def loss_latex(loss: Loss) -> str:
    """LaTeX of a loss's formula, terms in the order they were written."""
    return _ordered_printer().doprint(loss.symbolic())


class Latex(str):
    """A LaTeX formula: the text itself, which a notebook renders.

    A ``str`` (compare it, print it, write it to a file), whose ``repr`` is the
    text, so that an interactive terminal shows the LaTeX as it is, and whose
    ``_repr_latex_`` Jupyter renders, as Pixyz's ``print_latex`` result is.

    Example:
        >>> tex = Latex(r"\\log p\\left(x\\right)")
        >>> tex
        \\log p\\left(x\\right)
        >>> tex._repr_latex_()
        '$\\\\displaystyle \\\\log p\\\\left(x\\\\right)$'
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self}$"


def print_latex(obj: Any) -> Latex:
    """The formula of a distribution, a loss or a model in LaTeX, as Pixyz's ``print_latex``.

    * a distribution: its formula, with its factorisation when it has one,
      ``p(x,z) = p(x|z)p(z)`` (:attr:`Distribution.latex` is the right-hand
      side);
    * a loss: :attr:`Loss.latex`, the terms in the order written;
    * a :class:`~dgmcore.models.Model`: its loss's (``model.loss_cls``).

    Nothing is printed: the result is a :class:`Latex` string, which a
    notebook renders when it is a cell's value and an interactive terminal
    shows as its LaTeX text (``print`` it in a script), as with Pixyz. The
    ``print_latex()`` methods of distributions, losses and models print it.

    Args:
        obj: a dgmcore ``Distribution``, ``Loss`` or ``Model``.

    Returns:
        The LaTeX text, as a :class:`Latex` (a ``str``).

    Raises:
        InputTypeError: ``obj`` is none of those (the error names what it is).

    Example:
        >>> import torch
        >>> from dgmcore import print_latex
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], name="p_{prior}")
        >>> print_latex(p * prior)
        p\\left(x,z\\right) = p\\left(x|z\\right) p_{prior}\\left(z\\right)
        >>> print_latex(-p.log_prob().mean())
        - \\operatorname{mean} \\log p\\left(x|z\\right)
        >>> print_latex("p(x)")
        Traceback (most recent call last):
        ...
        dgmcore.errors.InputTypeError: print_latex needs a dgmcore Distribution, Loss or Model, got str 'p(x)'
    """
    from dgmcore.distributions import Distribution
    from dgmcore.losses import Loss
    from dgmcore.models import Model

    if isinstance(obj, Distribution):
        return Latex(equation_latex(obj))
    if isinstance(obj, Loss):
        return Latex(obj.latex)
    if isinstance(obj, Model):
        return Latex(obj.latex)
    cls = type(obj)
    kind = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    text = " ".join(repr(obj).split())  # one line
    raise InputTypeError(
        f"print_latex needs a dgmcore Distribution, Loss or Model, got {kind} "
        f"{text if len(text) <= 80 else text[:77] + '...'}"
    )


def equation_latex(d: Distribution) -> str:
    """``p(x,z) = p(x|z)p(z)`` for a distribution with a factorisation, else its formula."""
    factorized = distribution_latex(d)
    head = factor_latex(d)
    return factorized if factorized == head else f"{head} = {factorized}"

