"""The examples in docs/models.md run and print what the page says."""

from __future__ import annotations

from tests.losses.test_docs import run_page


def test_models_page_examples_run():
    result = run_page("models.md")
    assert result.attempted > 30
    assert result.failed == 0, f"{result.failed} example(s) in docs/models.md failed (see the output above)"
