"""What one training step optimises: one or more phases, each one module forward.

A :class:`Phase` is a loss function, the modules it trains (wrapped in one
:class:`Objective` module, so that a data-parallel wrapper sees the whole
objective as one forward and one backward) and their optimizer. The core
``Model`` is one phase; a :class:`~dgmcore_trainers.GAN` is two, the
discriminator's step first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from dgmcore.distributions import Distribution
from dgmcore.models import Model
from dgmcore_trainers.errors import FitConfigError

__all__ = ["Objective", "Phase", "keep_float32", "phases_of"]

_LOW = (torch.bfloat16, torch.float16)


class Objective(nn.Module):
    """The modules a loss trains, with the loss as ``forward``.

    ``forward(x_dict)`` returns ``loss_fn(x_dict)``; the modules are
    submodules, so ``state_dict`` and a DDP wrapper cover exactly them.
    """

    def __init__(self, modules: nn.Module, loss_fn: Callable[[Mapping[str, Any]], torch.Tensor]) -> None:
        super().__init__()
        self.trained = modules
        self.loss_fn = loss_fn

    def forward(self, x_dict: Mapping[str, Any]) -> torch.Tensor:
        return self.loss_fn(x_dict)


@dataclass
class Phase:
    """One optimisation step of a training step.

    Attributes:
        name: ``"loss"`` for the model's own objective; other phases log
            ``train_<name>_loss``.
        objective: the loss and the modules it trains.
        optimizer: the optimizer of those modules.
        clip_grad_norm, clip_grad_value: gradient clipping of this phase.
        on_nonfinite: ``"raise"`` or ``"skip"``, as for the core ``Model``.
        label: the loss's formula, for messages.
        own_step: the phase's own whole step ``own_step(x_dict) -> loss`` (an
            adversarial loss's ``train``, which may do more after the
            optimizer step, e.g. clip a critic's weights), used on one process
            in full precision; elsewhere the generic step runs.
    """

    name: str
    objective: Objective
    optimizer: torch.optim.Optimizer
    label: str
    clip_grad_norm: float | None = None
    clip_grad_value: float | None = None
    on_nonfinite: str = "raise"
    own_step: Callable[[Mapping[str, Any]], torch.Tensor] | None = None


def _find_optimizer(adversarial: Any) -> torch.optim.Optimizer | None:
    for attr in ("d_optimizer", "optimizer"):
        opt = getattr(adversarial, attr, None)
        if isinstance(opt, torch.optim.Optimizer):
            return opt
    return None


def phases_of(model: Model, clip_grad_norm: float | None, clip_grad_value: float | None) -> list[Phase]:
    """The phases of ``model``: its discriminator step (a GAN), then its own loss."""
    if not isinstance(model, Model):
        raise FitConfigError(f"fit needs a dgmcore.models.Model, got {type(model).__name__}")
    norm = clip_grad_norm if clip_grad_norm is not None else model.clip_grad_norm
    value = clip_grad_value if clip_grad_value is not None else model.clip_grad_value
    phases = []
    adversarial = getattr(model, "adversarial", None)
    if adversarial is not None:
        opt = _find_optimizer(adversarial)
        disc = getattr(model, "discriminator", None)
        if opt is None or not isinstance(disc, nn.Module):
            raise FitConfigError(
                f"fit: the adversarial loss {adversarial} exposes no discriminator optimizer "
                "(attribute d_optimizer or optimizer); fit runs the discriminator step itself"
            )
        phases.append(Phase("discriminator", Objective(disc, adversarial.loss_train), opt,
                            f"the discriminator loss of {adversarial}", norm, value, model.on_nonfinite,
                            own_step=adversarial.train))
    phases.append(Phase("loss", Objective(model.distributions, model.loss_cls.eval), model.optimizer,
                        str(model.loss_cls), norm, value, model.on_nonfinite))
    return phases


def _to_float32(module: nn.Module, args: Any, output: Any) -> Any:
    if isinstance(output, dict):
        return {k: v.float() if isinstance(v, torch.Tensor) and v.dtype in _LOW else v
                for k, v in output.items()}
    return output


def keep_float32(modules: nn.Module) -> list[torch.utils.hooks.RemovableHandle]:
    """Cast what each distribution's ``forward`` returns to float32.

    Under autocast the networks run in bfloat16 / float16, and the parameters
    they return then feed log-densities, KLs and sums that need float32: the
    cast sits between the two. Returns the hook handles (``.remove()`` them).
    """
    return [m.register_forward_hook(_to_float32) for m in modules.modules()
            if isinstance(m, Distribution)]
