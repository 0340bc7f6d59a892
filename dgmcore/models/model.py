""":class:`Model`: a loss, the distributions it trains, and an optimizer."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dgmcore import memo
from dgmcore.distributions.base import Distribution
from dgmcore.distributions.parametric import ParametricDistribution
from dgmcore.errors import DGMError, InputTypeError, NonFiniteLossError, ParameterError, ShapeError
from dgmcore.losses.base import Loss

__all__ = ["Model"]

_NAN_POLICIES = ("raise", "skip")


class Model:
    """Optimise a loss over the parameters of some distributions.

    ``train`` runs one optimisation step (zero_grad, loss, backward, optional
    gradient clipping, optimizer step) and returns the loss, detached;
    ``test`` evaluates without gradients, with the networks in eval mode.

    A step whose loss (or, with ``check_grads`` or when clipping by norm, whose
    gradient norm) is NaN or infinite changes nothing: parameters and
    optimizer state stay as they were, and
    :class:`~dgmcore.errors.NonFiniteLossError` is raised (or, with
    ``on_nonfinite="skip"``, the step is skipped and the loss returned). Before
    raising for a non-finite loss, the loss is evaluated once more with
    ``validate_args=True`` on every parametric distribution trained, and the
    first invalid parameter found (e.g. a negative scale) is named in the
    message.

    Args:
        loss: the objective to minimise (a scalar, e.g. ``(...).mean()``).
        distributions: the distributions whose parameters are trained.
        optimizer: a ``torch.optim.Optimizer`` class.
        optimizer_params: keyword arguments of the optimizer (e.g. ``lr``).
        clip_grad_norm: clip the global gradient norm to this value.
        clip_grad_value: clip each gradient element to this magnitude.
        retain_graph: passed to ``backward``.
        test_loss: the loss ``test`` evaluates (default: ``loss``).
        on_nonfinite: ``"raise"`` (default) or ``"skip"``.
        check_grads: also reject a step whose total gradient norm is not
            finite (a finite loss can have NaN gradients, e.g. ``sqrt`` at 0).
            Off by default: the norm and the device sync it needs cost about
            5% of a step of the benchmark VAE on a GPU (under 1% on a CPU).
            ``clip_grad_norm`` checks the norm it computes anyway.

    Raises:
        DGMError: ``train`` is called inside an open ``dgmcore.memo.scope()``.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> from dgmcore.models import Model
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=1.0, var=["x"])
        >>> model = Model(-p.log_prob().mean(), distributions=[p], optimizer_params={"lr": 0.1})
        >>> loss = model.train({"x": torch.ones(8, 2)})
        >>> bool(model.test({"x": torch.ones(8, 2)}) < loss)
        True
    """

    def __init__(
        self,
        loss: Loss,
        distributions: Distribution | Iterable[Distribution],
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
        retain_graph: bool = False,
        test_loss: Loss | None = None,
        on_nonfinite: str = "raise",
        check_grads: bool = False,
    ) -> None:
        if not isinstance(loss, Loss):
            raise InputTypeError(f"Model needs a Loss, got {type(loss).__name__}")
        if test_loss is not None and not isinstance(test_loss, Loss):
            raise InputTypeError(f"test_loss must be a Loss, got {type(test_loss).__name__}")
        if isinstance(distributions, nn.Module):
            distributions = [distributions]  # type: ignore[list-item]
        dists = list(distributions)
        for d in dists:
            if not isinstance(d, nn.Module):
                raise InputTypeError(
                    f"distributions must be dgmcore distributions (nn.Modules), got {type(d).__name__}"
                )
        if on_nonfinite not in _NAN_POLICIES:
            raise InputTypeError(f"on_nonfinite must be one of {_NAN_POLICIES}, got {on_nonfinite!r}")
        self.loss_cls = loss
        self.test_loss_cls = test_loss if test_loss is not None else loss
        self.distributions = nn.ModuleList(dists)
        params = [p for p in self.distributions.parameters() if p.requires_grad]
        if not params:
            raise InputTypeError("the given distributions have no trainable parameters")
        self.optimizer = optimizer(params, **dict(optimizer_params or {}))
        self.clip_grad_norm = clip_grad_norm
        self.clip_grad_value = clip_grad_value
        self.retain_graph = retain_graph
        self.on_nonfinite = on_nonfinite
        self.check_grads = check_grads
        self._params = params
        self._modules_list = list(self.distributions.modules())

    def __str__(self) -> str:
        lines = ["Distributions (for training):"]
        lines += [f"  {d.prob_factorized_text}" for d in self.distributions]  # type: ignore[attr-defined]
        lines += ["Loss function:", f"  {self.loss_cls}", "Optimizer:"]
        lines += ["  " + line for line in str(self.optimizer).splitlines()]
        return "\n".join(lines)

    def train(self, train_x_dict: Mapping[str, Any] | None = None, **kwargs: Any) -> torch.Tensor:
        """One optimisation step; returns the loss (detached).

        Keyword arguments are passed to the loss's ``eval`` (``return_dict`` is
        not one for a training step: use :meth:`test` or ``loss.eval``).
        """
        if memo.is_open():  # parameters memoized before the step would be reused after it
            raise DGMError(
                "Model.train was called inside an open dgmcore.memo.scope(): networks' results "
                "memoized before the optimizer step would be reused after it. Call train "
                "outside the scope"
            )
        if kwargs and kwargs.get("return_dict"):
            raise InputTypeError(
                "Model.train returns the loss only and takes no return_dict=True; to see the "
                "variables drawn, call model.test(x_dict, return_dict=True) or loss.eval"
            )
        # Module.train() walks the tree and sets every flag, which costs as much as a small
        # network's step: switch only when some module is in eval mode.
        for module in self._modules_list:
            if not module.training:
                self.distributions.train()
                break
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_cls.eval(train_x_dict, **kwargs)
        if loss.dim():
            raise ShapeError(
                f"Model.train needs a scalar loss, but {self.loss_cls} gives one of shape "
                f"{tuple(loss.shape)}: reduce it over the batch with .mean() or .sum()"
            )
        finite = math.isfinite(loss.item()) if loss.dim() == 0 else bool(torch.isfinite(loss).all())
        if not finite:
            return self._reject(loss, "loss", train_x_dict, kwargs)
        loss.backward(retain_graph=self.retain_graph)
        if self.clip_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self._params, self.clip_grad_norm)
            if not torch.isfinite(norm):
                return self._reject(loss, "gradient norm")
        elif self.check_grads:
            grads = [p.grad for p in self._params if p.grad is not None]
            if grads and not math.isfinite(torch.nn.utils.get_total_norm(grads).item()):
                return self._reject(loss, "gradient norm")
        if self.clip_grad_value is not None:
            torch.nn.utils.clip_grad_value_(self._params, self.clip_grad_value)
        self.optimizer.step()
        return loss.detach()

    def _reject(
        self,
        loss: torch.Tensor,
        what: str,
        x_dict: Mapping[str, Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        if self.on_nonfinite == "skip":
            return loss.detach()
        cause = self._diagnose(x_dict, kwargs or {}) if what == "loss" else ""
        raise NonFiniteLossError(
            f"the {what} of {self.loss_cls} is not finite ({loss.detach()}); parameters and "
            f"optimizer state are unchanged.{cause} Lower the learning rate, clip gradients "
            "(clip_grad_norm=...), or pass on_nonfinite='skip'"
        )

    def _diagnose(self, x_dict: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> str:
        """Failure path: the first invalid parameter, found by evaluating with validation on."""
        dists = [m for m in self._modules_list if isinstance(m, ParametricDistribution)]
        saved = [d.validate_args for d in dists]
        try:
            for d in dists:
                d.validate_args = True
            with torch.no_grad():
                self.loss_cls.eval(x_dict, **kwargs)
        except ParameterError as err:
            return f" Evaluated again with validate_args=True: {err}."
        except Exception:  # the diagnosis must not hide the error it diagnoses
            return ""
        finally:
            for d, v in zip(dists, saved, strict=True):
                d.validate_args = v
        return ""

    def test(self, test_x_dict: Mapping[str, Any] | None = None, **kwargs: Any) -> torch.Tensor:
        """Evaluate the test loss without gradients, networks in eval mode."""
        self.distributions.eval()
        try:
            with torch.no_grad():
                return self.test_loss_cls.eval(test_x_dict, **kwargs)
        finally:
            self.distributions.train()

    def state_dict(self) -> dict[str, Any]:
        """Networks and optimizer state, for checkpoints."""
        return {
            "distributions": self.distributions.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        missing = {"distributions", "optimizer"} - set(state)
        if missing:
            raise InputTypeError(
                f"Model.load_state_dict needs the keys 'distributions' and 'optimizer', "
                f"missing {sorted(missing)}"
            )
        self.distributions.load_state_dict(state["distributions"])
        self.optimizer.load_state_dict(state["optimizer"])
