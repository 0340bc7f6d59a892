"""LaTeX rendering of distributions and losses with sympy.

Each distribution or loss leaf becomes a sympy symbol that prints as its own
LaTeX; operators become unevaluated sympy ``Add``/``Mul``/``Pow`` nodes, printed
with ``order="none"`` so the terms keep the order the user wrote them in.
sympy is imported only when LaTeX is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dgmcore.distributions import Distribution
    from dgmcore.losses import Loss

__all__ = ["distribution_latex", "loss_latex", "symbol", "var_latex"]


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
