"""The ``dgm`` command.

Built-in subcommands:

* ``dgm plugins [--json]`` lists every plugin with its version, source
  (entry point, env, programmatic), status (ok, broken with the reason,
  disabled) and what it provides;
* ``dgm new-plugin NAME [--dir D]`` writes a working plugin package
  (:mod:`dgmcore.scaffold`);
* ``dgm --version``.

Plugins add subcommands through the ``register_commands(cli)`` hook, where
``cli`` is a :class:`Commands`. Startup stays fast: plugins are discovered only
when the command line needs them (``dgm plugins``, ``dgm --help`` or a command
that is not built in).

Example:
    >>> from dgmcore.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    dgm (dgmcore ...), plugin API 1.0
    0
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import dgmcore
from dgmcore import plugins
from dgmcore.errors import DGMError, PluginWarning
from dgmcore.plugins._registry import set_commands

__all__ = ["Commands", "main"]

Handler = Callable[[argparse.Namespace], "int | None"]
_BUILTIN = ("plugins", "new-plugin")


class Commands:
    """What a plugin's ``register_commands(cli)`` receives.

    Each plugin gets its own view, so ``dgm plugins`` can show which plugin
    added which command, and two plugins adding the same command name are
    reported instead of one silently replacing the other.
    """

    def __init__(self, subparsers: Any, plugin: str, owners: dict[str, list[str]]) -> None:
        self._subparsers = subparsers
        self._plugin = plugin
        self._owners = owners
        self.added: list[str] = []

    def add(
        self,
        name: str,
        handler: Handler,
        *,
        help: str | None = None,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        """Add the subcommand ``dgm <name>``.

        Args:
            name: the subcommand name.
            handler: ``handler(args)`` runs the command with the parsed
                ``argparse.Namespace``; it returns the exit status (None is 0).
            help: one line for ``dgm --help``.
            description: a longer text for ``dgm <name> --help``.

        Returns:
            The subcommand's ``argparse.ArgumentParser``: add its arguments.
        """
        owners = self._owners.setdefault(name, [])
        owners.append(self._plugin)
        if name in _BUILTIN or len(owners) > 1:
            first = "dgm itself" if name in _BUILTIN else f"plugin {owners[0]!r}"
            warnings.warn(f"dgmcore plugin {self._plugin!r} adds the command 'dgm {name}', "
                          f"which {first} already provides; the command is ambiguous",
                          PluginWarning, stacklevel=2)
            # A detached parser keeps the plugin's own code working.
            return argparse.ArgumentParser(prog=f"dgm {name}", description=description)
        parser = self._subparsers.add_parser(name, help=help, description=description or help)
        parser.set_defaults(_handler=handler, _plugin=self._plugin)
        self.added.append(name)
        return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dgm`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _main(args_list)


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    print(f"dgm: {category.__name__}: {message}", file=sys.stderr)


def _main(args_list: list[str]) -> int:
    parser, subparsers = _parser()
    first = next((a for a in args_list if not a.startswith("-")), None)
    owners: dict[str, list[str]] = {}
    if "--version" not in args_list and (first is None or first not in _BUILTIN
                                         or first == "plugins"):
        _plugin_commands(subparsers, owners)
    args = parser.parse_args(args_list)
    if args.version:
        print(f"dgm (dgmcore {dgmcore.__version__}), plugin API {dgmcore.API_VERSION}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    if len(owners.get(args.command, ())) > 1 and args.command not in _BUILTIN:
        both = " and ".join(repr(o) for o in owners[args.command])
        print(f"dgm: 'dgm {args.command}' is provided by {both}; disable one with "
              f"{plugins.ENV_DISABLE}=<name>", file=sys.stderr)
        return 1
    try:
        return int(args._handler(args) or 0)
    except DGMError as err:
        print(f"dgm {args.command}: error: {err}", file=sys.stderr)
        return 1


def _parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        prog="dgm", description="dgmcore: deep generative models, a small core plus plugins.")
    parser.add_argument("--version", action="store_true", help="show the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("plugins", help="list plugins: version, source, status, what they provide",
                       description="List every dgmcore plugin found in this environment.")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(_handler=_cmd_plugins)
    n = sub.add_parser("new-plugin", help="write a working plugin package skeleton",
                       description="Write a plugin package: pyproject.toml with the entry point, "
                       "a hookimpl module, an example family, a README and a test.")
    n.add_argument("name", help="plugin name, e.g. 'vonmises' (package dgmcore-vonmises)")
    n.add_argument("--dir", default=".", help="folder to create the package in (default: .)")
    n.set_defaults(_handler=_cmd_new_plugin)
    return parser, sub


def _plugin_commands(subparsers: Any, owners: dict[str, list[str]]) -> None:
    views: dict[str, Commands] = {}

    def view(name: str) -> dict[str, Any]:
        views[name] = Commands(subparsers, name, owners)
        return {"cli": views[name]}

    plugins.call_hook("register_commands", kwargs_for=view)
    for name, commands in views.items():
        set_commands(name, commands.added)


# ----------------------------------------------------------------------------- dgm plugins


def _cmd_plugins(args: argparse.Namespace) -> int:
    import json

    records = plugins.statuses()
    if args.json:
        print(json.dumps([r.as_dict() for r in records], indent=2))
        return 0
    if not records:
        print("no dgmcore plugins found (entry-point group 'dgmcore.plugins', "
              f"{plugins.ENV_PLUGINS}); write one with: dgm new-plugin NAME")
        return 0
    rows = [("NAME", "VERSION", "SOURCE", "STATUS", "PROVIDES")]
    for r in records:
        provides = "; ".join(f"{k}: {', '.join(v)}" for k, v in r.provides.items())
        rows.append((r.name, r.version or "-", r.source, r.status, provides or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    for r in records:
        if r.reason:
            print(f"\n{r.name} is {r.status}: {r.reason}")
    return 0


# ----------------------------------------------------------------------------- dgm new-plugin


def _cmd_new_plugin(args: argparse.Namespace) -> int:
    from pathlib import Path

    from dgmcore import scaffold

    short = scaffold.short_name(args.name)
    if short is None:
        print(f"dgm new-plugin: error: {args.name!r} is not a valid plugin name; use letters, "
              "digits and '-', starting with a letter (e.g. 'vonmises')", file=sys.stderr)
        return 2
    values = scaffold.plugin_values(short)
    root = Path(args.dir) / values["dist"]
    if root.exists() and any(root.iterdir()):
        print(f"dgm new-plugin: error: {root} already exists and is not empty", file=sys.stderr)
        return 1
    scaffold.write(root, values)
    print(f"wrote {root}/ (a dgmcore plugin providing dgmcore.distributions.VonMises)\n"
          f"next:  pip install -e {root}\n"
          f"       dgm plugins\n"
          f"       pytest {root / 'tests'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
