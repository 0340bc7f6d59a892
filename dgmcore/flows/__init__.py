"""Flows: a namespace only. Invertible transforms come from plugins (dgmcore-flows)."""

from __future__ import annotations

from dgmcore import plugins as _plugins

__all__: list[str] = []

__getattr__, __dir__, get = _plugins.namespace("flows", globals())
