"""What every distribution is before it samples or scores: named variables and a formula.

:class:`Named` holds a distribution's variables, its name and ``features_shape``,
checked once at construction, and what prints it: the formula text
(``p(x|z)``), its LaTeX and ``str(p)`` with the networks, as Pixyz prints them.
:class:`~dgmcore.distributions.Distribution` adds the sampling and density
template on top.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from dgmcore.distributions._inputs import check_features_shape, var_list
from dgmcore.errors import InputTypeError

__all__ = ["Named"]


class Named(nn.Module):
    """Variables ``var`` given ``cond_var``, a formula name and a ``features_shape``."""

    def __init__(
        self,
        var: str | Sequence[str],
        cond_var: str | Sequence[str] = (),
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
    ) -> None:
        super().__init__()
        self._var = var_list(var, "var")
        if not self._var:
            raise InputTypeError("var must name at least one variable, got an empty list")
        self._cond_var = var_list(cond_var, "cond_var")
        both = set(self._var) & set(self._cond_var)
        if both:
            raise InputTypeError(
                f"a variable cannot be both generated and conditioned on: {sorted(both)}"
            )
        if not isinstance(name, str) or not name:
            raise InputTypeError(f"name must be a non-empty string, got {name!r}")
        self._name = name
        self._features_shape = check_features_shape(features_shape)

    # -- names -----------------------------------------------------------------
    @property
    def var(self) -> list[str]:
        """The variables this distribution generates."""
        return list(self._var)

    @property
    def cond_var(self) -> list[str]:
        """The variables this distribution conditions on."""
        return list(self._cond_var)

    @property
    def input_var(self) -> list[str]:
        """The variables :meth:`sample` needs in ``x_dict``."""
        return list(self._cond_var)

    @property
    def name(self) -> str:
        """The name used in formulas (``p`` in ``p(x|z)``)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise InputTypeError(f"name must be a non-empty string, got {value!r}")
        self._name = value

    @property
    def distribution_name(self) -> str:
        """Human-readable family name; the class name unless a subclass sets it."""
        return type(self).__name__

    @property
    def features_shape(self) -> torch.Size:
        """Shape of one sample without batch/sample dimensions (``()`` if unknown)."""
        return self._features_shape

    # -- text --------------------------------------------------------------------
    @property
    def prob_text(self) -> str:
        """The formula, e.g. ``p(x,z|y)``."""
        text = f"{self._name}({','.join(self._var)}"
        if self._cond_var:
            text += "|" + ",".join(self._cond_var)
        return text + ")"

    @property
    def prob_factorized_text(self) -> str:
        """The factorised formula, e.g. ``p(x|z)p(z)`` (a single factor: its formula)."""
        return self.prob_text

    @property
    def latex(self) -> str:
        """LaTeX of the factorised formula, rendered with sympy."""
        from dgmcore.latex import distribution_latex

        return distribution_latex(self)  # type: ignore[arg-type]  # only Distribution subclasses it

    def print_latex(self) -> None:
        """Print :attr:`latex`."""
        print(self.latex)

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

    def __str__(self) -> str:
        formula = self.prob_factorized_text
        if formula != self.prob_text:  # a joint: "p(x,z) = p(x|z)p(z)", as Pixyz prints it
            formula = f"{self.prob_text} = {formula}"
        lines = ["Distribution:", f"  {formula}"]
        arch = self._architecture()
        if arch:
            lines.append("Network architecture:")
            lines.extend("  " + line for line in arch)
        return "\n".join(lines)

    def _architecture(self) -> list[str]:
        """Lines describing each factor: its family and its networks."""
        head = f"{self.distribution_name}(name={self._name}, var={self.var}, "
        head += f"cond_var={self.cond_var}, features_shape={tuple(self._features_shape)})"
        lines = [head]
        for child_name, child in self.named_children():
            sub = repr(child).splitlines()
            lines.append(f"  ({child_name}): {sub[0]}")
            lines.extend("  " + s for s in sub[1:])
        return lines
