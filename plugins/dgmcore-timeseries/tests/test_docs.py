"""The examples of docs/timeseries.md run, with the plugins registered, and print what the page says."""

from __future__ import annotations

import doctest
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "timeseries.md"


def test_timeseries_page_examples_run():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=flags, report=True)
    assert result.attempted > 20
    assert result.failed == 0, f"{result.failed} example(s) of docs/timeseries.md failed (see above)"
