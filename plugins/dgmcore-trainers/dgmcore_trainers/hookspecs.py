"""The training lifecycle hooks that :func:`dgmcore_trainers.fit` calls.

This plugin declares them (with :func:`dgmcore.plugins.add_hookspecs`, at
import), so any plugin, or a user's module given to
:func:`dgmcore.plugins.register`, implements them with ``@dgmcore.hookimpl``
like the core hooks; objects passed to ``fit(callbacks=[...])`` implement the
same methods and run after the plugins. A run of ``E`` epochs of ``B``
batches calls, in this order::

    on_fit_start
    E times:  on_train_batch_end (B times), on_validation_end (if valid_loader), on_epoch_end
    on_fit_end

A run resumed from a checkpoint calls ``on_fit_start`` again and continues
with the batch after the saved one. Every hook receives ``run``, the
:class:`~dgmcore_trainers.FitRun` (the model, the Fabric, the history so far);
``run.should_stop = True`` ends training after the current epoch. Hooks run on
every process; check ``run.is_global_zero`` before writing files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dgmcore.hookspecs import hookspec

if TYPE_CHECKING:
    from dgmcore_trainers.run import FitRun

__all__ = ["on_epoch_end", "on_fit_end", "on_fit_start", "on_train_batch_end", "on_validation_end"]


@hookspec
def on_fit_start(run: FitRun) -> None:
    """Called once when ``fit`` starts (and when it resumes), before the first batch.

    Returns:
        Nothing.
    """


@hookspec
def on_train_batch_end(run: FitRun, batch_idx: int, loss: Any) -> None:
    """Called after each optimisation step.

    Args:
        run: the run.
        batch_idx: the batch's index within its epoch (from 0).
        loss: the step's training loss, a detached scalar tensor.

    Returns:
        Nothing.
    """


@hookspec
def on_validation_end(run: FitRun, metrics: dict[str, float]) -> None:
    """Called after the validation pass of each epoch (only with a ``valid_loader``).

    Args:
        run: the run.
        metrics: ``{"valid_loss": ...}`` averaged over the validation set.

    Returns:
        Nothing.
    """


@hookspec
def on_epoch_end(run: FitRun, epoch: int, metrics: dict[str, float]) -> None:
    """Called at the end of each epoch, after validation, before the checkpoint is written.

    Args:
        run: the run.
        epoch: the epoch just finished (from 1).
        metrics: the epoch's row of the history (``epoch``, ``train_loss``,
            ``valid_loss`` when validated, ``lr``, ``seconds``); a hook may
            add entries, which are kept in the history and ``metrics.csv``.

    Returns:
        Nothing.
    """


@hookspec
def on_fit_end(run: FitRun) -> None:
    """Called once when training ends (the last epoch, or early stopping).

    Returns:
        Nothing.
    """
