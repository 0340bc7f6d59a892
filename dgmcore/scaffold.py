"""The plugin package ``dgm new-plugin NAME`` writes.

A working skeleton, as described in the plugin guide (``docs/plugins.md``): a
``pyproject.toml`` declaring the ``dgmcore.plugins`` entry point, a hookimpl
module holding only ``@dgmcore.hookimpl`` functions, an example family (the von
Mises distribution) in its own module, a README with a table of what it
provides, and a test that passes once the package is installed.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> values = plugin_values(short_name("dgmcore-VonMises"))
    >>> values["dist"], values["package"], values["entry"]
    ('dgmcore-vonmises', 'dgmcore_vonmises', 'vonmises')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     root = Path(tmp) / values["dist"]
    ...     write(root, values)
    ...     for path in sorted(p for p in root.rglob("*") if p.is_file()):
    ...         print(path.relative_to(root).as_posix())
    README.md
    dgmcore_vonmises/__init__.py
    dgmcore_vonmises/distributions.py
    dgmcore_vonmises/plugin.py
    pyproject.toml
    tests/test_plugin.py
    >>> short_name("9 lives") is None
    True
"""

from __future__ import annotations

import re
from pathlib import Path

import dgmcore

__all__ = ["TEMPLATES", "plugin_values", "short_name", "write"]


def short_name(name: str) -> str | None:
    """The plugin's short name (``"vonmises"`` for ``"dgmcore-VonMises"``), or None if invalid.

    A valid name is letters, digits and ``-`` or ``_`` separators, starting with
    a letter; a leading ``dgmcore-`` is dropped.
    """
    short = re.sub(r"^dgmcore[-_]", "", name.strip().lower())
    return short if re.fullmatch(r"[a-z][a-z0-9]*([-_][a-z0-9]+)*", short) else None


def plugin_values(short: str) -> dict[str, str]:
    """What the templates are filled with: distribution, package and entry-point names, versions."""
    dist = f"dgmcore-{short.replace('_', '-')}"
    return {"dist": dist, "package": dist.replace("-", "_"), "entry": short.replace("-", "_"),
            "api": dgmcore.API_VERSION, "core": dgmcore.__version__}


def write(root: Path, values: dict[str, str]) -> None:
    """Write every template, filled with ``values``, under ``root`` (created as needed)."""
    for rel, template in TEMPLATES.items():
        path = root / rel.format(**values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.lstrip("\n").format(**values), encoding="utf-8")


# Templates use str.format: {{ and }} are literal braces.
TEMPLATES: dict[str, str] = {
    "pyproject.toml": '''
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A dgmcore plugin: the von Mises distribution."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["dgmcore>={core}"]

[project.optional-dependencies]
test = ["pytest>=7"]

# This is how dgmcore finds the plugin: the entry point names its hookimpl module.
[project.entry-points."dgmcore.plugins"]
{entry} = "{package}.plugin"

[tool.setuptools.packages.find]
include = ["{package}*"]
''',
    "README.md": '''
# {dist}

A [dgmcore](https://pypi.org/project/dgmcore/) plugin.

| namespace | name | what |
| --- | --- | --- |
| `dgmcore.distributions` | `VonMises` | von Mises distribution over angles (`loc`, `concentration`) |

## Install

    pip install -e .
    dgm plugins          # {dist} should be listed with status "ok"

## Use

```python
from dgmcore.distributions import VonMises

p = VonMises(loc=0.0, concentration=2.0, var=["a"], features_shape=[3])
p.sample(batch_n=4)["a"].shape   # torch.Size([4, 3])
```

## Test

    pip install -e ".[test]"
    pytest tests
''',
    "{package}/__init__.py": '''
"""{dist}: a dgmcore plugin providing the von Mises distribution."""

from {package}.distributions import VonMises

__version__ = "0.1.0"
__all__ = ["VonMises"]
''',
    "{package}/distributions.py": '''
"""The von Mises distribution as a dgmcore family."""

from __future__ import annotations

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = ["VonMises"]


class VonMises(ParametricDistribution):
    """Von Mises distribution over angles, with parameters ``loc`` and ``concentration``.

    Example:
        >>> p = VonMises(loc=0.0, concentration=2.0, var=["a"], features_shape=[3])
        >>> p.sample(batch_n=4)["a"].shape
        torch.Size([4, 3])
    """

    family = torch.distributions.VonMises
    params = ("loc", "concentration")
''',
    "{package}/plugin.py": '''
"""Hook implementations: the module dgmcore loads through the entry point.

Keep only ``@dgmcore.hookimpl`` functions here; the classes live in their own modules.
"""

from __future__ import annotations

import dgmcore
from {package}.distributions import VonMises

#: The dgmcore plugin API this plugin is written against.
DGMCORE_API_VERSION = "{api}"


@dgmcore.hookimpl
def register_distributions():
    return [VonMises]
''',
    "tests/test_plugin.py": '''
"""Checks that {dist} is installed, loads cleanly and its family is right."""

import torch

from dgmcore import plugins


def test_plugin_is_found_and_ok():
    status = {{s.name: s for s in plugins.statuses()}}["{dist}"]
    assert status.status == "ok", status.reason
    assert status.provides["distributions"] == ["VonMises"]


def test_family_matches_torch():
    from dgmcore.distributions import VonMises

    p = VonMises(loc=0.0, concentration=2.0, var=["a"], features_shape=[3])
    x = p.sample(batch_n=4)["a"]
    assert x.shape == (4, 3)
    reference = torch.distributions.VonMises(torch.tensor(0.0), torch.tensor(2.0))
    torch.testing.assert_close(p.get_log_prob({{"a": x}}), reference.log_prob(x).sum(-1))
''',
}
