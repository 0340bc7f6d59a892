"""Starting over, for test suites: forget every plugin, or work in a clean registry.

A suite should not see whatever plugins happen to be installed on the machine
running it. :func:`reset` restricts what later discovery may load (e.g. in a
``pytest_configure`` hook); :func:`isolated` gives one block an empty registry
and restores the previous restriction afterwards.

(The conformance checks for plugin authors are :mod:`dgmcore.testing`.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pluggy

from dgmcore.plugins._discovery import manager
from dgmcore.plugins._records import bump, deactivate, norm, state

__all__ = ["isolated", "reset"]


def reset(*, entry_points: bool | Iterable[str] | None = None, env: bool = True) -> None:
    """Forget every plugin; the next lookup discovers again. For tests.

    Args:
        entry_points: which installed plugins discovery may load from now on:
            None (the default) follows the environment
            (``DGMCORE_DISABLE_PLUGIN_AUTOLOAD=1``: none;
            ``DGMCORE_ONLY_ENTRY_POINTS=name,...``: only those; otherwise all);
            True loads all; False loads none; an iterable of names loads only
            those (matched like ``DGMCORE_DISABLE_PLUGINS``).
        env: whether discovery loads the modules named in ``DGMCORE_PLUGINS``.

    Hookspecs added with :func:`~dgmcore.plugins.add_hookspecs` are kept.
    """
    with state.lock:
        if state.pm is not None:
            for rec in state.plugins.values():
                deactivate(rec)
        if entry_points is None or isinstance(entry_points, bool):
            state.entry_points = entry_points
        else:
            state.entry_points = frozenset(norm(n) for n in entry_points)
        state.use_env = env
        state.pm = None
        state.plugins.clear()
        state.pending.clear()
        state.discovered = state.discovering = False
        state.warned.clear()
        state.warn_queue.clear()
        bump()


@contextmanager
def isolated(*, entry_points: bool | Iterable[str] = False) -> Iterator[pluggy.PluginManager]:
    """A clean plugin registry for the duration of a ``with`` block. For tests.

    By default no installed plugin and nothing from ``DGMCORE_PLUGINS`` is
    loaded inside the block, so a user's plugins never leak into a test;
    :func:`~dgmcore.plugins.register` what the test needs. On exit the registry
    is reset again and later lookups rediscover as before.

    Example:
        >>> from dgmcore import plugins
        >>> with plugins.isolated():
        ...     [s.name for s in plugins.statuses()]
        []
    """
    previous = state.entry_points, state.use_env
    reset(entry_points=entry_points, env=False)
    try:
        yield manager()
    finally:
        reset(entry_points=previous[0], env=previous[1])
