"""The README's GAN example runs (with fewer steps) and is at most 25 lines."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_readme_gan_example_is_short_and_runs(capsys):
    code = _example()
    assert len(code.strip().splitlines()) <= 25
    assert "range(1500)" in code
    exec(compile(code.replace("range(1500)", "range(3)"), str(README), "exec"), {})
    assert "mean(D_JS^Adv[p(x)||p_{data}(x)])" in capsys.readouterr().out
