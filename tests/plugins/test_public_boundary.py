"""First-party plugins reach the core only through its public surface (DESIGN §1).

A module under ``plugins/`` may import from the core only names that a public
module exports in its ``__all__`` (or that a lazy namespace resolves: a class
another plugin registers), and may touch no ``_``-prefixed attribute that the
core defines, apart from the documented extension hooks a subclass implements.
If a plugin needs more, the core is missing an interface.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_FILES = sorted(
    p for p in (ROOT / "plugins").glob("*/**/*.py") if ".egg-info" not in str(p) and "build" not in p.parts
)

#: The core's public modules (each package ``__init__`` and the top-level modules of DESIGN §1).
PUBLIC = {
    "dgmcore", "dgmcore.distributions", "dgmcore.distributions.kl", "dgmcore.losses", "dgmcore.models",
    "dgmcore.flows", "dgmcore.errors", "dgmcore.memo", "dgmcore.latex", "dgmcore.hookspecs",
    "dgmcore.plugins", "dgmcore.cli", "dgmcore.testing",
}  # fmt: skip

#: Documented hooks a subclass implements (and may call through super()): Distribution's
#: template, Loss's evaluation and text, ParametricDistribution's extension points.
HOOKS = {
    "_draw", "_log_density", "_signed_log_density", "_entropy", "_mean", "_variance",
    "_eval", "_eval_signed", "_signed", "_text", "_symbolic", "_precedence",
}  # fmt: skip


def _core_private_names() -> set[str]:
    """Every ``_name`` the core defines: attributes assigned on ``self`` and methods."""
    names: set[str] = set()
    for path in (ROOT / "dgmcore").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id == "self":
                    names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
    torch_own = set(dir(torch.nn.Module())) | set(vars(torch.nn.Module))  # torch's, not the core's
    return {n for n in names if n.startswith("_") and not n.startswith("__")} - HOOKS - torch_own


CORE_PRIVATE = _core_private_names()


def _own_names(tree: ast.AST) -> set[str]:
    """The ``_names`` a plugin module defines itself (its own attributes and methods)."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Assign):
            own.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return own


def _exports(module: str, name: str) -> bool:
    mod = importlib.import_module(module)
    if name in getattr(mod, "__all__", ()):
        return True
    if module in ("dgmcore.distributions", "dgmcore.losses", "dgmcore.models", "dgmcore.flows"):
        return hasattr(mod, name)  # a class a plugin registers, resolved lazily
    return False


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mod = node.module
            if mod != "dgmcore" and not mod.startswith("dgmcore."):
                continue
            if mod not in PUBLIC:
                found.append(f"line {node.lineno}: imports from the implementation module {mod}")
                continue
            for alias in node.names:
                if f"{mod}.{alias.name}" in PUBLIC:  # a public submodule: from dgmcore import plugins
                    continue
                if alias.name.startswith("_") or not _exports(mod, alias.name):
                    found.append(f"line {node.lineno}: {mod}.{alias.name} is not public")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("dgmcore.") and alias.name not in PUBLIC:
                    found.append(f"line {node.lineno}: imports the implementation module {alias.name}")
    own = _own_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CORE_PRIVATE and node.attr not in own:
            found.append(f"line {node.lineno}: touches the core's private attribute {node.attr}")
    return found


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT / "plugins")))
def test_plugin_module_uses_only_the_public_core(path: Path) -> None:
    assert not violations(path), f"{path.relative_to(ROOT)}: " + "; ".join(violations(path))


def test_the_check_catches_what_it_names(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from dgmcore.distributions._parametric import ParametricDistribution\n"
        "from dgmcore.distributions import check_x_dict, _plugins\n"
        "import dgmcore.losses._arithmetic\n"
        "def f(p):\n    return p._cond_var, p._features_shape\n",
        encoding="utf-8",
    )
    found = "\n".join(violations(bad))
    assert "implementation module dgmcore.distributions._parametric" in found
    assert "dgmcore.distributions._plugins is not public" in found
    assert "check_x_dict" not in found  # exported
    assert "implementation module dgmcore.losses._arithmetic" in found
    assert "_cond_var" in found and "_features_shape" in found
    assert len(PLUGIN_FILES) > 20  # the plugins are really scanned
