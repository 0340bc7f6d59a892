"""The bad-input suite prints its outcome counts at the end of the run."""

from __future__ import annotations

from tests.badinput import harness


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if harness.TALLY:
        terminalreporter.write_sep("-", "bad-input outcomes")
        terminalreporter.write_line(harness.summary())
