"""The examples of docs/training.md run and print what the page says."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[3] / "docs"


@pytest.mark.parametrize("page", ["training.md"])
def test_examples_in_page_run(page):
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS,
                              verbose=False, report=True)
    assert result.attempted > 20, f"{page} has (almost) no examples"
    assert result.failed == 0, f"{result.failed} example(s) in docs/{page} failed (see the output above)"
