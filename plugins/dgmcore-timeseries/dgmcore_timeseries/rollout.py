""":func:`rollout`: ancestral generation of a sequence from a step distribution."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError, MissingVariableError, ShapeError

__all__ = ["rollout"]


def rollout(
    step: Distribution,
    steps: int,
    x_dict: Mapping[str, Any] | None = None,
    update_value: Mapping[str, str] | None = None,
    series_var: Iterable[str] = (),
    batch_n: int | None = None,
    timestep_var: str | None = None,
    reparam: bool = False,
) -> dict[str, torch.Tensor]:
    """Draw a sequence ancestrally: step ``t`` samples ``step`` given the values carried from ``t - 1``.

    .. math::

        z_t \\sim p(z_t \\mid z_{t-1}), \\quad x_t \\sim p(x_t \\mid z_t), \\quad t = 1, \\dots, T

    for ``step = p(x|z) * p(z|z_prev)`` and ``update_value={"z": "z_prev"}``:
    the generative twin of :class:`~dgmcore_timeseries.IterativeLoss`, with the
    same ``update_value`` and ``series_var`` meanings. Series given in
    ``x_dict`` (batch first, time second) are sliced at ``t``, e.g. actions or
    a context; everything else in ``x_dict`` is seen by every step. To imagine
    the future of an observed context, filter the context first (the
    ``return_dict`` of the training ``IterativeLoss`` gives the last carried
    state) and roll out from that state.

    Args:
        step: the distribution of one step (a joint is sampled in topological order).
        steps: the number of steps ``T``.
        x_dict: the initial carried values (``z_prev``) and any other inputs.
        update_value: ``{drawn: carried}`` pairs, e.g. ``{"z": "z_prev"}``.
        series_var: variables of ``x_dict`` sliced along time (dim 1).
        batch_n: the batch size when nothing in ``x_dict`` fixes it.
        timestep_var: when given, the step sees its 0-based index under this name.
        reparam: draw reparameterised samples, so that gradients flow through
            the rollout (every factor must allow it).

    Returns:
        Each variable the step drew, stacked along time: ``(batch, T, ...)``.
        Run it under ``torch.no_grad()`` when no gradient is wanted.

    Raises:
        InputTypeError: ``step`` is not a distribution or ``steps`` not a positive int.
        MissingVariableError: a carried value is missing at step 0, or a step
            did not draw the variable to carry.
        ShapeError: a series has fewer than ``steps`` frames.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_timeseries import rollout
        >>> prior = Normal(loc="z_prev", scale=0.1, var=["z"], cond_var=["z_prev"])
        >>> p = Normal(loc="z", scale=0.01, var=["x"], cond_var=["z"])
        >>> out = rollout(p * prior, steps=20, x_dict={"z_prev": torch.zeros(8, 2)},
        ...               update_value={"z": "z_prev"})
        >>> out["x"].shape, out["z"].shape
        (torch.Size([8, 20, 2]), torch.Size([8, 20, 2]))
    """
    if not isinstance(step, Distribution):
        raise InputTypeError(f"rollout needs a Distribution as step, got {type(step).__name__}")
    if not isinstance(steps, int) or steps < 1:
        raise InputTypeError(f"rollout of {step.prob_text}: steps must be a positive int, got {steps!r}")
    given = dict(x_dict or {})
    updates = dict(update_value or {})
    owner = f"rollout of {step.prob_text}"
    series = {}
    for v in series_var:
        if v not in given:
            raise MissingVariableError(v, f"{owner} (step 0, series)", given)
        if given[v].shape[1] < steps:
            raise ShapeError(f"{owner}: series {v!r} has {given[v].shape[1]} frames (shape "
                             f"{tuple(given[v].shape)}), fewer than steps={steps}")
        series[v] = given.pop(v)
    for new, old in updates.items():
        if old not in given:
            raise MissingVariableError(
                old, f"{owner} (its initial value, carried from {new!r} at step 0)", given
            )
    drawn: dict[str, list[torch.Tensor]] = {}
    for t in range(steps):
        xt = dict(given)
        xt.update({v: s[:, t] for v, s in series.items()})
        if timestep_var is not None:
            xt[timestep_var] = t
        out = step.sample(xt, batch_n=batch_n, return_all=False, reparam=reparam)
        for k, v in out.items():
            drawn.setdefault(k, []).append(v)
        for new, old in updates.items():
            if new not in out and new not in xt:
                raise MissingVariableError(
                    new, f"{owner} (step {t}: nothing drawn to carry into {old!r})", out
                )
            given[old] = out[new] if new in out else xt[new]
    return {k: torch.stack(v, 1) for k, v in drawn.items()}
