"""The exceptions of dgmcore-trainers, under :class:`dgmcore.errors.DGMError`."""

from __future__ import annotations

from dgmcore.errors import DGMError, InputTypeError

__all__ = ["CheckpointError", "FitConfigError"]


class CheckpointError(DGMError):
    """A checkpoint that cannot be loaded into this run; nothing was changed."""


class FitConfigError(InputTypeError):
    """An argument of :func:`~dgmcore_trainers.fit` that cannot work."""
