"""Tables of conformance cases for pytest.

:class:`Case`, :class:`KLCase` and :class:`EntropyCase` are rows; :func:`parametrize`
turns a table into one parametrised test.

A table is a list of cases, each with a readable ``id`` and the builders of
what it checks. Builders are called when the case runs, so every test gets a
fresh distribution and fresh inputs, and a failure in one builder fails only
its own case. One parametrised test runs the whole table::

    from dgmcore.testing import Case, parametrize

    CASES = [Case("Normal", lambda: Normal(loc=0.0, scale=1.0, var=["x"]), ...), ...]

    @parametrize(CASES)
    def test_family(case):
        case.check()
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError
from dgmcore.testing.distribution import check_distribution, seeded
from dgmcore.testing.divergence import check_entropy, check_kl_pair
from dgmcore.testing.report import Report

__all__ = ["Case", "EntropyCase", "KLCase", "parametrize"]

Inputs = Callable[[], Mapping[str, Any]]


def _inputs(make: Inputs | None, seed: int) -> dict[str, Any]:
    if make is None:
        return {}
    with seeded(seed):
        return dict(make())


class Formula:
    """A reference written as formulas, for a family ``torch.distributions`` lacks.

    ``log_prob(value)`` gives the elementwise log-density; ``mean`` and
    ``variance``, when given, are the moments (a check that needs a missing one
    is reported as not applicable).

    Example:
        >>> import torch
        >>> from dgmcore.testing import Formula
        >>> ref = Formula(lambda v: -v.abs() - torch.log(torch.tensor(2.0)), mean=torch.zeros(3))
        >>> ref.log_prob(torch.zeros(3))
        tensor([-0.6931, -0.6931, -0.6931])
        >>> ref.mean
        tensor([0., 0., 0.])
    """

    def __init__(
        self,
        log_prob: Callable[[Any], Any],
        mean: Any = None,
        variance: Any = None,
    ) -> None:
        self.log_prob, self._mean, self._variance = log_prob, mean, variance

    @property
    def mean(self) -> Any:
        if self._mean is None:
            raise NotImplementedError("this reference has no mean")
        return self._mean

    @property
    def variance(self) -> Any:
        if self._variance is None:
            raise NotImplementedError("this reference has no variance")
        return self._variance


@dataclass(frozen=True)
class Case:
    """One distribution to put through :func:`~dgmcore.testing.check_distribution`.

    Attributes:
        id: the test id shown by pytest (e.g. ``"Normal-conditional"``).
        build: makes the distribution (also used as the ``state_dict`` factory).
        inputs: makes the conditioning variables (called under a fixed seed).
        reference: makes the independent reference from the inputs.
        options: more keyword arguments of ``check_distribution`` (``skip``,
            ``n_samples``, ``values``...).

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Exponential(ParametricDistribution):
        ...     family = torch.distributions.Exponential
        ...     params = ("rate",)
        >>> case = Case(
        ...     "Exponential",
        ...     lambda: Exponential(rate="r", var=["t"], cond_var=["r"]),
        ...     inputs=lambda: {"r": torch.rand(4, 2) + 0.5},
        ...     reference=lambda x: torch.distributions.Exponential(x["r"]),
        ... )
        >>> case
        Case('Exponential')
        >>> "mean" in case.check().passed
        True
    """

    id: str
    build: Callable[[], Distribution]
    inputs: Inputs | None = None
    reference: Callable[[Mapping[str, Any]], Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def check(self) -> Report:
        """Build the case and run :func:`~dgmcore.testing.check_distribution` on it."""
        inputs = _inputs(self.inputs, self.seed)
        reference = self.reference(inputs) if self.reference is not None else None
        options = {"factory": self.build, "seed": self.seed, **self.options}
        return check_distribution(self.build(), inputs, reference, **options)

    def __repr__(self) -> str:
        return f"Case({self.id!r})"


@dataclass(frozen=True)
class KLCase:
    """One analytic KL pair to put through :func:`~dgmcore.testing.check_kl_pair`.

    Attributes:
        id: the test id shown by pytest (e.g. ``"Normal||Normal"``).
        p, q: make the two distributions.
        inputs: makes the conditioning variables of both.
        reference: makes the exact KL values from the inputs, if known.
        options: more keyword arguments of ``check_kl_pair``.
    """

    id: str
    p: Callable[[], Distribution]
    q: Callable[[], Distribution]
    inputs: Inputs | None = None
    reference: Callable[[Mapping[str, Any]], Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def check(self) -> Report:
        """Build the pair and run :func:`~dgmcore.testing.check_kl_pair` on it."""
        inputs = _inputs(self.inputs, self.seed)
        reference = self.reference(inputs) if self.reference is not None else None
        return check_kl_pair(self.p(), self.q(), inputs, reference, seed=self.seed, **self.options)

    def __repr__(self) -> str:
        return f"KLCase({self.id!r})"


@dataclass(frozen=True)
class EntropyCase:
    """One analytic entropy to put through :func:`~dgmcore.testing.check_entropy`.

    Attributes:
        id: the test id shown by pytest.
        build: makes the distribution.
        inputs: makes its conditioning variables.
        reference: makes an independent object with ``entropy()`` from the inputs.
        options: more keyword arguments of ``check_entropy``.
    """

    id: str
    build: Callable[[], Distribution]
    inputs: Inputs | None = None
    reference: Callable[[Mapping[str, Any]], Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0

    def check(self) -> Report:
        """Build the case and run :func:`~dgmcore.testing.check_entropy` on it."""
        inputs = _inputs(self.inputs, self.seed)
        reference = self.reference(inputs) if self.reference is not None else None
        return check_entropy(self.build(), inputs, reference, seed=self.seed, **self.options)

    def __repr__(self) -> str:
        return f"EntropyCase({self.id!r})"


def parametrize(cases: Sequence[Case | KLCase | EntropyCase], argname: str = "case") -> Any:
    """``pytest.mark.parametrize`` over a table of cases, with their ids as test ids.

    Raises:
        DGMError: two cases share an id (pytest would make the ids unreadable).

    Example:
        >>> marker = parametrize([Case("a", lambda: None), Case("b", lambda: None)])
        >>> marker.args[0], [c.id for c in marker.args[1]], marker.kwargs["ids"]
        ('case', ['a', 'b'], ['a', 'b'])
    """
    import pytest

    ids = [c.id for c in cases]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise DGMError(f"conformance cases with the same id: {twice}")
    return pytest.mark.parametrize(argname, list(cases), ids=ids)
