"""The examples of docs/testing.md run and print what the page says."""

from __future__ import annotations

import doctest
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def test_testing_page_examples_run():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=flags, report=True)
    assert result.attempted > 15
    assert result.failed == 0, f"{result.failed} example(s) in docs/testing.md failed (see the output above)"
