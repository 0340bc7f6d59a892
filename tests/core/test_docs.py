"""The examples in the core's documentation pages run, and print what the pages say."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["distributions.md", "writing-families.md", "memo.md", "errors.md"]


@pytest.mark.parametrize("page", PAGES)
def test_examples_in_page_run(page: str) -> None:
    path = DOCS / page
    result = doctest.testfile(
        str(path), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False, report=True
    )
    assert result.attempted > 5, f"{page} has (almost) no examples"
    assert result.failed == 0, f"{result.failed} example(s) in docs/{page} failed (see the output above)"
