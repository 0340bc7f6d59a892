"""What a conformance check found: :class:`Report`, and :class:`ConformanceError` when it fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

import torch

from dgmcore.errors import DGMError

__all__ = ["ConformanceError", "Report"]


class ConformanceError(DGMError, AssertionError):
    """A distribution, KL pair or entropy failed a check of :mod:`dgmcore.testing`.

    Also an :class:`AssertionError`, so pytest reports it as a failed test.
    The message names the subject (e.g. ``p(x|z) (Normal)``), the check, and
    what was expected and found.
    """


@dataclass
class Report:
    """The checks a subject passed and the ones that did not apply.

    Attributes:
        subject: what was checked, e.g. ``"p(x|z) (Normal)"``.
        passed: names of the checks passed, in order.
        skipped: check name -> why it did not apply (no reparameterisation,
            no closed-form mean...).

    Example:
        >>> r = Report("p(x) (Normal)")
        >>> r.ok("shapes")
        >>> r.skip("reparam", "no rsample")
        >>> r
        Report('p(x) (Normal)', passed=['shapes'], skipped={'reparam': 'no rsample'})
        >>> r.fail("moments", "mean is off")
        Traceback (most recent call last):
        ...
        dgmcore.testing.report.ConformanceError: p(x) (Normal): moments: mean is off
    """

    subject: str
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def ok(self, check: str) -> None:
        """Record that ``check`` passed."""
        self.passed.append(check)

    def skip(self, check: str, reason: str) -> None:
        """Record that ``check`` did not apply, and why."""
        self.skipped[check] = reason

    def fail(self, check: str, message: str) -> NoReturn:
        """Raise :class:`ConformanceError` for ``check``."""
        raise ConformanceError(f"{self.subject}: {check}: {message}")

    def require(self, condition: bool, check: str, message: str) -> None:
        """:meth:`fail` unless ``condition`` holds."""
        if not condition:
            self.fail(check, message)

    def close(
        self, check: str, actual: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float, what: str
    ) -> None:
        """Fail unless ``actual`` and ``expected`` have the same shape and agree within tolerances.

        Equal infinities and NaNs in the same places count as equal.
        """
        actual, expected = torch.as_tensor(actual).detach(), torch.as_tensor(expected).detach()
        if actual.shape != expected.shape:
            self.fail(check, f"{what}: shape {tuple(actual.shape)}, expected {tuple(expected.shape)}")
        a, e = actual.double(), expected.double()
        good = torch.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
        if not bool(good.all()):
            i = int((~good).flatten().nonzero()[0])
            self.fail(
                check,
                f"{what}: {int((~good).sum())} of {good.numel()} values differ; first at flat index {i}: "
                f"{a.flatten()[i].item():.6g} vs expected {e.flatten()[i].item():.6g} "
                f"(atol={atol}, rtol={rtol})",
            )

    def __repr__(self) -> str:
        return f"Report({self.subject!r}, passed={self.passed}, skipped={self.skipped})"
