"""What the four models share: checking the distributions they are given."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError

__all__ = ["check_distribution", "distribution_list"]


def check_distribution(model: str, role: str, value: Any) -> Distribution:
    """``value`` itself, after checking that it is a dgmcore distribution."""
    if not isinstance(value, Distribution):
        raise InputTypeError(
            f"{model}: {role} must be a dgmcore Distribution, got {type(value).__name__}"
        )
    return value


def distribution_list(model: str, first: Iterable[Distribution], other: Any) -> list[Distribution]:
    """The distributions to train: ``first`` then ``other`` (one distribution or several)."""
    if isinstance(other, Distribution):
        other = [other]
    if not isinstance(other, Iterable) or isinstance(other, (str, bytes)):
        raise InputTypeError(
            f"{model}: other_distributions must be a Distribution or a sequence of them, "
            f"got {type(other).__name__}"
        )
    found = list(first)
    for i, d in enumerate(other):
        check_distribution(model, f"other_distributions[{i}]", d)
        if not any(d is f for f in found):
            found.append(d)
    return found
