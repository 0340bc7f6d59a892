"""The examples in docs/losses.md run and print what the page says."""

from __future__ import annotations

import doctest
import sys
import types
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def run_page(name: str) -> doctest.TestResults:
    """Run a page's examples in a real module's namespace.

    torch.compile resolves the globals of functions it traces through
    ``sys.modules``, so the classes a page defines must live in a registered module.
    """
    path = DOCS / name
    module = types.ModuleType(f"dgmcore_docs_{path.stem}")
    sys.modules[module.__name__] = module
    try:
        test = doctest.DocTestParser().get_doctest(path.read_text(), {}, name, str(path), 0)
        test.globs = module.__dict__
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, clear_globs=False)
        return runner.summarize(verbose=False)
    finally:
        del sys.modules[module.__name__]


def test_losses_page_examples_run():
    result = run_page("losses.md")
    assert result.attempted > 50
    assert result.failed == 0, f"{result.failed} example(s) in docs/losses.md failed (see the output above)"


def test_writing_losses_page_examples_run():
    result = run_page("writing-losses.md")
    assert result.attempted > 10
    assert result.failed == 0, f"{result.failed} example(s) in docs/writing-losses.md failed (see above)"


def test_compile_page_examples_run():
    result = run_page("compile.md")
    assert result.attempted > 5
    assert result.failed == 0, f"{result.failed} example(s) in docs/compile.md failed (see above)"
