"""An MkDocs hook: publish the benchmark charts (``benchmarks/results/*.png``) with the site.

The charts live beside the results they plot, outside ``docs/``, and are
rewritten by every benchmark run (``python -m benchmarks``). Rather than copies
that go stale, this hook adds the files themselves to the build, under the same
path (``benchmarks/results/<suite>.png``), so a page links them as
``../benchmarks/results/vae.png`` from ``docs/`` and MkDocs checks the link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

CHARTS = "benchmarks/results"


def on_files(files: Files, config: Any) -> Files:
    root = Path(config["config_file_path"]).parent
    for chart in sorted((root / CHARTS).glob("*.png")):
        rel = chart.relative_to(root).as_posix()
        files.append(File(rel, src_dir=str(root), dest_dir=config["site_dir"], use_directory_urls=True))
    return files
