"""The examples of docs/flows.md run, with the plugin registered, and print what the page says."""

from __future__ import annotations

import doctest
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "flows.md"


def test_flows_page_examples_run():
    result = doctest.testfile(
        str(PAGE),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        report=True,
    )
    assert result.attempted > 30
    assert result.failed == 0, f"{result.failed} example(s) in docs/flows.md failed (see the output above)"
