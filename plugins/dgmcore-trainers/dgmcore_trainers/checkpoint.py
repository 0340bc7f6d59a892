"""Checkpoint files: written atomically, read with ``weights_only=True``, checked before use.

A checkpoint is a dict of tensors, numbers, strings and containers of them,
so ``torch.load(..., weights_only=True)`` reads it and no code from a file is
ever run. It is written to a temporary file in the same folder, flushed,
``fsync``-ed and renamed over the old one (``os.replace`` is atomic on POSIX
and Windows): a process killed at any moment leaves either the previous
checkpoint or the new one, never a mixture.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dgmcore_trainers.errors import CheckpointError

__all__ = [
    "FORMAT", "FORMAT_VERSION", "atomic_save", "check_compatible", "check_optimizer", "load_checkpoint",
]

FORMAT = "dgmcore-trainers-checkpoint"
#: Raised whenever the layout changes; a newer file is refused, an older one upgraded.
FORMAT_VERSION = 1


def atomic_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj)`` to ``path`` so that a crash never leaves a partial file.

    Example:
        >>> import tempfile, torch
        >>> from dgmcore_trainers.checkpoint import atomic_save
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = atomic_save({"w": torch.ones(2)}, f"{d}/c.pt")
        ...     torch.load(p, weights_only=True)
        {'w': tensor([1., 1.])}
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`dgmcore_trainers.fit` (on the CPU).

    Raises:
        CheckpointError: the file is missing, truncated or not a checkpoint
            of this plugin, or was written by a newer version of it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or corrupt files raise several types
        raise CheckpointError(
            f"{path} is not a readable checkpoint (truncated or corrupt?): {type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a dgmcore-trainers checkpoint (no format {FORMAT!r})")
    version = state.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}, newer than the {FORMAT_VERSION} this "
            "dgmcore-trainers reads; upgrade dgmcore-trainers"
        )
    return state


def check_compatible(path: Any, saved: Mapping[str, Any], current: Mapping[str, Any], what: str) -> None:
    """Raise :class:`CheckpointError` unless two state dicts have the same keys and shapes."""
    missing = sorted(set(current) - set(saved))
    extra = sorted(set(saved) - set(current))
    if missing or extra:
        raise CheckpointError(
            f"{path} does not fit this model's {what}: missing {missing[:5]}, unexpected "
            f"{extra[:5]}; nothing was loaded"
        )
    for key, value in current.items():
        old = saved[key]
        fits = isinstance(old, torch.Tensor) and old.shape == value.shape
        if isinstance(value, torch.Tensor) and not fits:
            given = tuple(old.shape) if isinstance(old, torch.Tensor) else type(old).__name__
            raise CheckpointError(
                f"{path} does not fit this model's {what}: {key!r} has shape {given} in the "
                f"checkpoint and {tuple(value.shape)} in the model; nothing was loaded"
            )


def check_optimizer(path: Any, saved: Mapping[str, Any], current: Mapping[str, Any], what: str) -> None:
    """Raise :class:`CheckpointError` unless two optimizer states have the same parameter groups."""
    try:
        old = [len(g["params"]) for g in saved["param_groups"]]
    except (KeyError, TypeError) as err:
        raise CheckpointError(f"{path}: the {what} state is malformed; nothing was loaded") from err
    new = [len(g["params"]) for g in current["param_groups"]]
    if old != new:
        raise CheckpointError(
            f"{path} does not fit this model's {what}: parameter groups of sizes {old} in the "
            f"checkpoint and {new} here; nothing was loaded"
        )
