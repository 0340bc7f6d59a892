"""Every hook a dgmcore plugin can implement.

A plugin is a module (or any object) whose functions are marked
``@dgmcore.hookimpl`` and named after the hooks below. The core calls the
``register_*`` hooks once per plugin, right after the plugin is loaded (see
:mod:`dgmcore.plugins`); they return data and never mutate global state: the
core merges what they return, detects name conflicts and records each plugin's
status. A hook that raises marks its plugin broken, and every other plugin keeps
working.

A hook implementation may take fewer arguments than its specification (pluggy
passes only the ones it names) and must not take arguments the specification
does not have. A function marked ``@dgmcore.hookimpl`` whose name matches no
hook marks its plugin broken when it loads, naming the closest hooks, so a
misspelt hook never goes unnoticed (an unmarked function is not a hook
implementation and is not looked at).

Plugins may declare hooks of their own (the trainers plugin declares the
training lifecycle hooks) with :data:`hookspec` and
:func:`dgmcore.plugins.add_hookspecs`.

Example:
    >>> import dgmcore
    >>> from dgmcore import hookspecs
    >>> hooks = sorted(n for n in dir(hookspecs) if n.startswith("register_"))
    >>> hooks  # doctest: +NORMALIZE_WHITESPACE
    ['register_commands', 'register_datasets', 'register_demos', 'register_distributions',
     'register_entropy', 'register_flows', 'register_kl', 'register_losses', 'register_models']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from dgmcore.cli import Commands

__all__ = [
    "hookspec",
    "register_distributions",
    "register_losses",
    "register_flows",
    "register_models",
    "register_kl",
    "register_entropy",
    "register_datasets",
    "register_demos",
    "register_commands",
]

#: Marker for hook specifications (pluggy project name ``"dgmcore"``). Plugins
#: that declare hooks of their own mark them with it and pass the module to
#: :func:`dgmcore.plugins.add_hookspecs`.
hookspec = pluggy.HookspecMarker("dgmcore")


@hookspec
def register_distributions() -> list[type]:  # type: ignore[empty-body]
    """Distribution classes this plugin provides.

    Called once, when the plugin is loaded (on the first lookup in a namespace,
    on :func:`dgmcore.plugins.manager`, or on
    :func:`dgmcore.plugins.register`).

    Returns:
        A list of classes, usually subclasses of
        :class:`dgmcore.distributions.ParametricDistribution`. Each becomes
        ``dgmcore.distributions.<cls.__name__>``. The list may be empty.
    """


@hookspec
def register_losses() -> list[type]:  # type: ignore[empty-body]
    """Loss classes this plugin provides.

    Called once, when the plugin is loaded.

    Returns:
        A list of classes, usually subclasses of :class:`dgmcore.losses.Loss`.
        Each becomes ``dgmcore.losses.<cls.__name__>``.
    """


@hookspec
def register_flows() -> list[type]:  # type: ignore[empty-body]
    """Flow (invertible transform) classes this plugin provides.

    Called once, when the plugin is loaded. A flow is stateless:
    ``forward(x, context=None) -> (y, logabsdet)`` and
    ``inverse(y, context=None) -> (x, logabsdet)``, and its constructor takes
    the number of features as its first positional argument.

    Returns:
        A list of classes. Each becomes ``dgmcore.flows.<cls.__name__>``.
    """


@hookspec
def register_models() -> list[type]:  # type: ignore[empty-body]
    """Model classes this plugin provides.

    Called once, when the plugin is loaded.

    Returns:
        A list of classes, usually subclasses of :class:`dgmcore.models.Model`
        (``VAE``, ``GAN``...). Each becomes ``dgmcore.models.<cls.__name__>``.
    """


@hookspec
def register_kl() -> list[tuple[type, type, Callable[[Any, Any], Any]]]:  # type: ignore[empty-body]
    """Analytic KL divergences this plugin provides.

    Called once, when the plugin is loaded. The core keeps every pair; a lookup
    picks the most specific registered pair for the two distributions' types
    (as ``torch.distributions.kl`` does) and falls back to the pairs
    ``torch.distributions.kl`` knows.

    Returns:
        A list of ``(type_p, type_q, fn)`` tuples. ``type_p`` and ``type_q`` are
        dgmcore :class:`~dgmcore.distributions.Distribution` subclasses or
        ``torch.distributions.Distribution`` subclasses. Either way,
        ``fn(p, q)`` receives the two ``torch.distributions`` objects built from
        the current parameters and returns :math:`\\mathrm{KL}[p \\| q]`
        elementwise, before features are summed.
    """


@hookspec
def register_entropy() -> list[tuple[type, Callable[[Any], Any]]]:  # type: ignore[empty-body]
    """Analytic entropies this plugin provides.

    Called once, when the plugin is loaded. Without a registered function the
    core uses the ``torch.distributions`` object's own ``entropy()``.

    Returns:
        A list of ``(type, fn)`` tuples: ``type`` as for :func:`register_kl`,
        ``fn(p)`` receives the ``torch.distributions`` object and returns the
        entropy elementwise.
    """


@hookspec
def register_datasets() -> dict[str, Callable[[], Any]]:  # type: ignore[empty-body]
    """Named data sets this plugin bundles, for demos and tests.

    Called once, when the plugin is loaded. Loading data is deferred: the core
    stores the loaders and calls one only when its data set is asked for
    (:func:`dgmcore.plugins.load_dataset`).

    Returns:
        A dict mapping a data-set name to a zero-argument callable that returns
        the real, bundled data (for example a tensor or a
        ``torch.utils.data.Dataset``). It must not download anything.
    """


@hookspec
def register_demos() -> dict[str, Callable[..., Any]]:  # type: ignore[empty-body]
    """Named demos this plugin provides, run by ``dgm demo NAME``.

    Called once, when the plugin is loaded; a demo runs only when asked for
    (:func:`dgmcore.plugins.demos`). The plugin that owns a demo's model
    registers it (the flows plugin ``flow``, the time-series plugin ``dmm``);
    the command that runs them belongs to the plugin that provides ``dgm demo``.

    Returns:
        A dict mapping a demo name to a callable run as
        ``demo(out, *, epochs=None, seed=0, device="cpu", quick=False)``: it
        trains on real, bundled data (never downloads), writes its pictures,
        ``metrics.csv`` and ``report.md`` into the folder ``out`` (a
        :class:`pathlib.Path`, created if missing), and returns that folder.
        ``epochs=None`` means the demo's own default; ``quick=True`` is a
        reduced run for tests.
    """


@hookspec
def register_commands(cli: Commands) -> None:
    """Add subcommands to the ``dgm`` command line.

    Called when ``dgm`` runs a command that is not built in (or shows its help
    or plugin list), once per plugin.

    Args:
        cli: a :class:`dgmcore.cli.Commands`. ``cli.add(name, handler, help=...)``
            returns the ``argparse.ArgumentParser`` of the new subcommand, to
            which the plugin adds its arguments; ``handler(args)`` runs the
            command with the parsed ``argparse.Namespace`` and returns an exit
            status (or None for 0).

    Returns:
        Nothing.
    """
