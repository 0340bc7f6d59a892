"""The documentation site builds with ``mkdocs build --strict``: no warning, no broken link,
no nav entry without its page, and the API reference renders from the docstrings."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip(
        "mkdocs", reason="the docs toolchain (mkdocs-material, mkdocstrings) is in the test extra"
    )
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    warnings = [line for line in done.stderr.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert done.returncode == 0 and not warnings, "mkdocs build --strict failed:\n" + done.stderr[-6000:]
    return out


def test_every_nav_page_is_built(site: Path) -> None:
    nav = re.findall(r":\s*([\w/.-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert len(nav) >= 30
    for page in nav:
        built = site / (page[: -len(".md")].removesuffix("index") + "/index.html").lstrip("/")
        if page == "index.md":
            built = site / "index.html"
        assert built.is_file(), f"{page} is in the nav of mkdocs.yml but was not built"


def test_formulas_reach_mathjax(site: Path) -> None:
    home = (site / "index.html").read_text()
    assert 'class="arithmatex"' in home  # the ELBO on the home page
    assert "mathjax" in home.lower()
    api = (site / "api" / "losses" / "index.html").read_text()
    assert 'class="arithmatex"' in api and ":math:" not in api  # docstring math, rewritten


def test_docstring_examples_render_as_code(site: Path) -> None:
    page = (site / "api" / "losses" / "index.html").read_text()
    assert "KullbackLeibler" in page and "IWELBO" in page and "log_marginal" in page
    assert '<span class="gp">&gt;&gt;&gt; </span>' in page  # doctests highlighted as sessions
    assert "<blockquote>\n<blockquote>" not in page  # not ">>>" read as nested quotes


def test_gallery_shows_every_picture(site: Path) -> None:
    listed = set(re.findall(r"\]\(([\w-]+\.png)\)", (DOCS / "gallery" / "index.md").read_text()))
    present = {p.name for p in (DOCS / "gallery").glob("*.png")}
    assert listed == present and len(present) >= 10
    for name in present:
        assert (site / "gallery" / name).stat().st_size > 1000


def test_benchmark_charts_are_published_from_their_results(site: Path) -> None:
    charts = sorted(p.name for p in (ROOT / "benchmarks" / "results").glob("*.png"))
    assert charts, "benchmarks/results has no charts"
    page = (site / "gallery" / "index.html").read_text()
    for name in charts:
        assert (site / "benchmarks" / "results" / name).read_bytes() == (
            ROOT / "benchmarks" / "results" / name
        ).read_bytes()
        assert f'src="../benchmarks/results/{name}"' in page, name


def test_the_griffe_rewrite() -> None:
    spec = importlib.util.spec_from_file_location("example_sections", DOCS / "hooks" / "example_sections.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = (
        "Bound.\n\n.. math::\n    a = b\n    + c\n\n"
        "At :math:`k=1`, :class:`~dgmcore.losses.ELBO`.\n\nExample:\n    >>> 1\n    1\n"
    )
    assert module.rewrite(text) == (
        "Bound.\n\n$$\na = b\n+ c\n$$\n\nAt $k=1$, `ELBO`.\n\nExamples:\n    >>> 1\n    1\n"
    )
