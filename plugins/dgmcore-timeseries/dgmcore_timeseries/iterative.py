""":class:`IterativeLoss`: a step loss summed over the frames of a sequence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from dgmcore.distributions import Distribution, sample_dims
from dgmcore.errors import InputTypeError, MissingVariableError, ShapeError
from dgmcore.latex import loss_latex, symbol, var_latex
from dgmcore.losses import Loss, unsigned

__all__ = ["IterativeLoss"]

XDict = dict[str, Any]


class IterativeLoss(Loss):
    """:math:`\\sum_{t=1}^{T} \\mathcal{L}_{step}(x_t, z_{t-1})`, one value per batch element.

    At step ``t`` the step loss is evaluated on ``x_dict`` with each series
    variable replaced by its frame ``t`` (batch first: ``x[:, t]``), plus the
    carried values. After the step, every ``update_value`` pair ``{"z":
    "z_prev"}`` carries the ``z`` the step drew (or, when it drew none, the
    ``z`` it was given, e.g. a frame of a series) into ``z_prev`` for step
    ``t + 1``. The initial ``z_prev`` comes from ``x_dict``. The step values
    are summed over time: a step loss with one value per batch element gives
    one value per batch element, a reduced step loss (``step.mean()``) a scalar.

    This is Pixyz's ``IterativeLoss`` with dgmcore's layout: tensors are batch
    first and time is dimension ``time_dim`` (1 by default; ``time_dim=0`` reads
    Pixyz's time-first ``(T, batch, ...)`` tensors). Inside an expectation with
    several samples, time is counted after the sample dimensions.

    Variable-length sequences: ``mask_var`` names a 0/1 (or boolean) mask laid
    out like the series, ``(batch, T)`` (``(T, batch)`` when ``time_dim=0``).
    A step where the mask is 0 contributes nothing to that sequence and leaves
    its carried values unchanged, so a left- or right-padded batch gives, per
    sequence, what the unpadded sequence gives alone.

    Evaluating never changes ``x_dict``. With ``return_dict=True`` the dict
    holds, for each variable the step drew, the draws stacked along the time
    dimension, and the carried values after the last step.

    Args:
        step_loss: the loss of one step, e.g. the DMM's
            ``KullbackLeibler(q, prior) - p.log_prob().expectation(q)``.
        max_iter: the number of steps; default the length of the first series.
        series_var: the variables sliced along time (``"x"``, ``"h"``...).
        update_value: ``{drawn: carried}`` pairs, e.g. ``{"z": "z_prev"}``.
        slice_step: a distribution giving the step's inputs from the whole
            series and ``timestep_var`` (Pixyz's ``slice_step``); the step loss
            becomes its expectation over it and the series are not sliced.
        timestep_var: the name under which the step sees its index (0 for the
            first frame: frame ``t`` of the formula has index ``t - 1``).
        mask_var: the name of the mask (``None``: every step counts).
        time_dim: 1 for batch-first ``(batch, T, ...)`` series, 0 for
            time-first ``(T, batch, ...)`` ones.

    Raises:
        InputTypeError: ``step_loss`` is not a loss, ``update_value`` not a
            dict of names, ``time_dim`` neither 0 nor 1, or neither
            ``series_var`` nor ``max_iter`` fixes the number of steps.
        MissingVariableError: (at evaluation) a series, the mask or a carried
            variable is missing at step 0, or the step drew no value to carry.
        ShapeError: (at evaluation) a series shorter than ``max_iter``, or a
            mask whose shape is not ``(batch, T)``.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_timeseries import IterativeLoss
        >>> q = Normal(loc="z_prev", scale=1.0, var=["z"], cond_var=["z_prev"], name="q")
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"], name="p")
        >>> loss = IterativeLoss(-p.log_prob().expectation(q), series_var=["x"],
        ...                      update_value={"z": "z_prev"})
        >>> print(loss)
        sum_{t=1}^{T} (-E_{q(z|z_prev)}[log p(x|z)])
        >>> print(loss.latex.replace("\\\\left", "").replace("\\\\right", ""))
        \\sum_{t=1}^{T} (- \\mathbb{E}_{q(z|z_{prev})}[\\log p(x|z)])
        >>> x = {"x": torch.zeros(4, 10, 3), "z_prev": torch.zeros(4, 3)}  # (batch, T, features)
        >>> loss.eval(x).shape
        torch.Size([4])
    """

    def __init__(
        self,
        step_loss: Loss,
        max_iter: int | None = None,
        series_var: Iterable[str] = (),
        update_value: Mapping[str, str] | None = None,
        slice_step: Distribution | None = None,
        timestep_var: str | Iterable[str] | None = "t",
        mask_var: str | None = None,
        time_dim: int = 1,
    ) -> None:
        if not isinstance(step_loss, Loss):
            raise InputTypeError(f"IterativeLoss needs a Loss as step_loss, got {type(step_loss).__name__}")
        series = (series_var,) if isinstance(series_var, str) else tuple(series_var)
        updates = dict(update_value or {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in updates.items()):
            raise InputTypeError(f"IterativeLoss over {step_loss}: update_value must map names to names, "
                                 f"got {updates!r}")
        if time_dim not in (0, 1):
            raise InputTypeError(f"IterativeLoss over {step_loss}: time_dim must be 0 (time first) or 1 "
                                 f"(batch first), got {time_dim!r}")
        if not series and max_iter is None:
            raise InputTypeError(f"IterativeLoss over {step_loss}: give series_var or max_iter, "
                                 "or the number of steps is unknown")
        if max_iter is not None and (not isinstance(max_iter, int) or max_iter < 1):
            raise InputTypeError(f"IterativeLoss over {step_loss}: max_iter must be a positive int, "
                                 f"got {max_iter!r}")
        if slice_step is not None:
            step_loss = step_loss.expectation(slice_step)
        if timestep_var is not None and not isinstance(timestep_var, str):  # Pixyz passes ["t"]
            timestep_var = next(iter(timestep_var), None)
        self.step_loss, self.max_iter, self.series_var = step_loss, max_iter, series
        self.update_value, self.slice_step, self.timestep_var = updates, slice_step, timestep_var
        self.mask_var, self.time_dim = mask_var, time_dim
        needs = [*step_loss.input_var, *series, *updates.values()] + ([mask_var] if mask_var else [])
        # the step's own draws and the time index are not inputs of the whole sum
        produced = {timestep_var} | (set(updates) - set(updates.values()) - set(series))
        super().__init__(dict.fromkeys(v for v in needs if v not in produced))
        self._sliced = () if slice_step is not None else series

    # -- evaluation ------------------------------------------------------------------------
    def _steps(self, x: XDict, pos: int) -> int:
        """The number of steps, checking the series against ``max_iter``."""
        lengths = {}
        for v in self.series_var:
            value = x.get(v)
            if value is None:
                raise MissingVariableError(v, f"{self._text()} (step 0, series)", x)
            lengths[v] = value.shape[pos]
        steps = self.max_iter if self.max_iter is not None else next(iter(lengths.values()))
        for v, n in lengths.items():
            if n < steps:
                raise ShapeError(
                    f"{self._text()}: series {v!r} has {n} steps along dim {pos} (shape "
                    f"{tuple(x[v].shape)}), fewer than the {steps} steps asked for; step {n} has no frame"
                )
        return steps

    def _mask(self, x: XDict, pos: int, steps: int) -> torch.Tensor | None:
        if self.mask_var is None:
            return None
        mask = x.get(self.mask_var)
        if mask is None:
            raise MissingVariableError(self.mask_var, f"{self._text()} (step 0, mask)", x)
        batch = next((x[v].shape[pos - 1 if pos else 1] for v in self.series_var), None)
        want = (steps, batch) if self.time_dim == 0 else (batch, steps)
        got = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
        if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or mask.shape[self.time_dim] < steps or (
            batch is not None and mask.shape[1 - self.time_dim] != batch
        ):
            layout = "(T, batch)" if self.time_dim == 0 else "(batch, T)"
            raise ShapeError(
                f"{self._text()}: mask {self.mask_var!r} must be a {layout} tensor of shape {want} "
                f"(step 0 onwards), got {got}"
            )
        return mask.transpose(0, 1) if self.time_dim == 0 else mask

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return unsigned(self._eval_signed(x, samples, False))

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        nsample = sample_dims()
        pos = 0 if self.time_dim == 0 else nsample + 1
        steps = self._steps(x, pos)
        mask = self._mask(x, pos, steps)
        carried = {}
        for new, old in self.update_value.items():
            if old not in x:
                raise MissingVariableError(old, f"{self._text()} (its initial value, carried from {new!r} "
                                                f"at step 0)", x)
            carried[old] = x[old]
        series = {v: x[v] for v in self._sliced}
        drawn: dict[str, list[torch.Tensor]] | None = {} if samples is not None else None
        step = self.step_loss
        total: torch.Tensor | None = None
        negated = prefer_negated
        for t in range(steps):
            xt = dict(x)
            for v, value in series.items():
                xt[v] = value.select(pos, t)
            xt.update(carried)
            if self.timestep_var is not None:
                xt[self.timestep_var] = t
            out: XDict = {}
            value, neg = step._signed(xt, out, prefer_negated)
            if mask is not None:
                if not value.dim():
                    raise ShapeError(
                        f"{self._text()}: step {t} gave one value for the whole batch, so mask "
                        f"{self.mask_var!r} cannot drop padded steps; reduce after the sum "
                        "(IterativeLoss(step, ...).mean()), not inside the step"
                    )
                value = value * mask[:, t].to(value.dtype)
            if total is None:
                total, negated = value, neg
            else:
                total = total + value if neg == negated else total - value
            carried = self._carry(xt, out, carried, mask, t, nsample)
            if drawn is not None:
                for k, v in out.items():
                    drawn.setdefault(k, []).append(v)
        if samples is not None and drawn is not None:
            samples.update({k: torch.stack(v, pos) for k, v in drawn.items() if len(v) == steps})
            samples.update(carried)
        assert total is not None  # steps >= 1 (checked above)
        return total, negated

    def _carry(
        self, xt: XDict, out: XDict, carried: XDict, mask: torch.Tensor | None, t: int, nsample: int
    ) -> XDict:
        nxt = {}
        for new, old in self.update_value.items():
            value = out.get(new, xt.get(new))
            if value is None:
                raise MissingVariableError(new, f"{self._text()} (step {t}: the step drew no {new!r} "
                                                f"to carry into {old!r})", {**xt, **out})
            if mask is not None:
                keep = mask[:, t].reshape((-1,) + (1,) * (value.dim() - nsample - 1)).bool()
                value = torch.where(keep, value, carried[old])
            nxt[old] = value
        return nxt

    # -- text ------------------------------------------------------------------------------
    def _bounds(self) -> tuple[str, str]:
        t = self.timestep_var or "t"
        return t, str(self.max_iter) if self.max_iter is not None else "T"

    def _text(self) -> str:
        t, top = self._bounds()
        return f"sum_{{{t}=1}}^{{{top}}} ({self.step_loss._text()})"

    def _symbolic(self) -> Any:
        t, top = self._bounds()
        step = loss_latex(self.step_loss)
        return symbol(self._text(), f"\\sum_{{{var_latex(t)}=1}}^{{{top}}} \\left({step}\\right)")
