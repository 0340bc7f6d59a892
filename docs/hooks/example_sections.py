"""A Griffe extension for the API reference: dgmcore's docstrings, read the way they are written.

dgmcore's docstrings are Google style with a few reStructuredText habits that
Griffe's Markdown rendering does not know; this extension rewrites them before
parsing (the source is unchanged):

- ``Example:`` headings become ``Examples:``, the heading Griffe's Google parser
  knows, so the doctests render as Python sessions instead of nested quotes;
- ``:math:`...``` and ``.. math::`` blocks become ``$...$`` and ``$$...$$``, which
  ``pymdownx.arithmatex`` hands to MathJax;
- cross-reference roles (``:class:`~dgmcore.losses.Loss```) become inline code
  of the name (``Loss``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_HEADING = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)
_INLINE_MATH = re.compile(r":math:`([^`]+)`")
_BLOCK_MATH = re.compile(
    r"^(?P<indent>[ \t]*)\.\. math::[ \t]*(?P<first>.*)\n(?P<body>(?:(?:(?P=indent)[ \t]+.*)?\n)*)",
    re.MULTILINE,
)
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj|py:\w+):`(~?)([^`]+)`")


def _block(match: re.Match[str]) -> str:
    indent = match["indent"]
    lines = [match["first"], *match["body"].splitlines()]
    body = "\n".join(f"{indent}{line.strip()}" for line in lines if line.strip())
    return f"{indent}$$\n{body}\n{indent}$$\n\n"


def _role(match: re.Match[str]) -> str:
    name = match[2]
    return f"`{name.rsplit('.', 1)[-1] if match[1] else name}`"


def rewrite(text: str) -> str:
    """The docstring ``text`` with the rewrites above applied."""
    text = _HEADING.sub(r"\1Examples:", text)
    text = _BLOCK_MATH.sub(_block, text)
    text = _INLINE_MATH.sub(lambda m: f"${m[1]}$", text)
    return _ROLE.sub(_role, text)


class ExampleSections(griffe.Extension):
    """Apply :func:`rewrite` to every docstring once the object tree is built."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
