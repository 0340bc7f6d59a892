"""The examples of docs/adversarial.md run, with the plugins registered, and print what the page says."""

from __future__ import annotations

import doctest
from pathlib import Path

PAGE = Path(__file__).resolve().parents[3] / "docs" / "adversarial.md"


def test_adversarial_page_examples_run():
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=doctest.ELLIPSIS, report=True)
    assert result.attempted > 20
    assert result.failed == 0, f"{result.failed} example(s) in docs/adversarial.md failed (see above)"
