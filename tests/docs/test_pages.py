"""The code on the site's guide pages runs and prints what the pages say."""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = [
    "index.md",
    "quickstart.md",
    "concepts/index.md",
    "migration.md",
    "howto/flow.md",
    "howto/private-extensions.md",
    "howto/checkpoints.md",
]


@pytest.mark.parametrize("page", PAGES)
def test_examples_in_page_run(page: str) -> None:
    if page == "quickstart.md":
        pytest.importorskip("sklearn", reason="the quickstart trains on the scikit-learn digits")
    result = doctest.testfile(
        str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False, report=True
    )
    assert result.attempted > 5, f"{page} has (almost) no examples"
    assert result.failed == 0, f"{result.failed} example(s) in docs/{page} failed (see the output above)"


def test_multiprocess_script_runs_under_torchrun(tmp_path: Path) -> None:
    """The script on howto/multiprocess.md trains on two processes that stay identical."""
    text = (DOCS / "howto" / "multiprocess.md").read_text()
    (script,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    path = tmp_path / "train_ddp.py"
    path.write_text(script)
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", str(path)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "the processes hold the same weights: True" in done.stdout
