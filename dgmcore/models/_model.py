""":class:`Model`: a loss, the distributions it trains, and an optimizer."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from dgmcore import memo
from dgmcore.distributions._base import Distribution
from dgmcore.distributions._parametric import ParametricDistribution
from dgmcore.errors import (
    DGMError,
    ForwardError,
    InputTypeError,
    NonFiniteLossError,
    ParameterError,
    ShapeError,
)
from dgmcore.losses._base import Loss
from dgmcore.models._arguments import check_clip, check_eval_kwargs, make_optimizer, module_list
from dgmcore.models._rollback import BufferSnapshot, load_checkpoint

__all__ = ["Model"]

_NAN_POLICIES = ("raise", "skip")


class Model:
    """Optimise a loss over the parameters of some distributions.

    ``train`` runs one optimisation step (zero_grad, loss, backward, optional
    gradient clipping, optimizer step) and returns the loss, detached;
    ``test`` evaluates without gradients, with the networks in eval mode.

    A step that fails changes nothing: parameters, buffers (BatchNorm's
    running statistics, which the forward updates before the loss is known)
    and optimizer state stay as they were, whatever the step raised. A step
    whose loss (or, with ``check_grads`` or when clipping by norm, whose
    gradient norm) is NaN or infinite raises
    :class:`~dgmcore.errors.NonFiniteLossError` showing that value (or, with
    ``on_nonfinite="skip"``, is skipped and returns the loss). Before raising
    for a non-finite loss, the loss is evaluated once more, in eval mode and
    with ``validate_args=True`` on every parametric distribution trained, and
    the first invalid parameter found (e.g. a negative scale) is named in the
    message.

    Args:
        loss: the objective to minimise (a scalar, e.g. ``(...).mean()``).
        distributions: the distributions whose parameters are trained.
        optimizer: a ``torch.optim.Optimizer`` class.
        optimizer_params: keyword arguments of the optimizer (e.g. ``lr``).
        clip_grad_norm: clip the global gradient norm to this value (positive).
        clip_grad_value: clip each gradient element to this magnitude (positive).
        retain_graph: passed to ``backward``.
        test_loss: the loss ``test`` evaluates (default: ``loss``).
        on_nonfinite: ``"raise"`` (default) or ``"skip"``.
        check_grads: also reject a step whose total gradient norm is not
            finite (a finite loss can have NaN gradients, e.g. ``sqrt`` at 0).
            Off by default: the norm and the device sync it needs cost about
            5% of a step of the benchmark VAE on a GPU (under 1% on a CPU).
            ``clip_grad_norm`` checks the norm it computes anyway.

    Raises:
        InputTypeError: an argument of the wrong kind (not a loss, no
            trainable distributions, an optimizer instance instead of its
            class, an unknown optimizer keyword), naming it.
        ParameterError: a clip <= 0, or a value the optimizer refuses (a
            negative learning rate).
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
        >>> model.print_latex()  # its loss's formula
        - \\operatorname{mean} \\log p\\left(x\\right)
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
            raise InputTypeError(f"Model: test_loss must be a Loss, got {type(test_loss).__name__}")
        if on_nonfinite not in _NAN_POLICIES:
            raise InputTypeError(
                f"Model: on_nonfinite must be one of {_NAN_POLICIES}, got {on_nonfinite!r}"
            )
        self.clip_grad_norm = check_clip(clip_grad_norm, "clip_grad_norm")
        self.clip_grad_value = check_clip(clip_grad_value, "clip_grad_value")
        self.loss_cls = loss
        self.test_loss_cls = test_loss if test_loss is not None else loss
        self.distributions = nn.ModuleList(module_list(distributions))
        params = [p for p in self.distributions.parameters() if p.requires_grad]
        if not params:
            raise InputTypeError(
                f"Model: the given distributions have no trainable parameters (loss {loss})"
            )
        self.optimizer = make_optimizer(optimizer, params, optimizer_params)
        self.retain_graph = retain_graph
        self.on_nonfinite = on_nonfinite
        self.check_grads = check_grads
        self._params = params
        self._modules_list = list(self.distributions.modules())
        self._buffers = BufferSnapshot(self._modules_list)

    @property
    def latex(self) -> str:
        """The LaTeX of the loss it trains (``loss_cls.latex``), as Pixyz prints a model."""
        return self.loss_cls.latex

    def print_latex(self) -> None:
        """Print :attr:`latex`."""
        print(self.latex)

    def _repr_latex_(self) -> str:
        return f"${self.latex}$"

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

        Raises:
            NonFiniteLossError: the loss (or the gradient norm it checks) is
                not finite; the model is unchanged.
            InputTypeError: an unknown keyword, or a loss that carries no
                gradient (detached, or computed without the trained networks).
            ForwardError: a ``forward`` (or the backward through it) raised.
            DGMError: any other bad input, as ``loss.eval`` reports it. Whatever
                is raised, parameters, buffers and optimizer state are as before.
        """
        if memo.is_open():  # parameters memoized before the step would be reused after it
            raise DGMError(
                "Model.train was called inside an open dgmcore.memo.scope(): networks' results "
                "memoized before the optimizer step would be reused after it. Call train "
                "outside the scope"
            )
        if kwargs:
            check_eval_kwargs(kwargs, "Model.train", return_dict=False)
        # Module.train() walks the tree and sets every flag, which costs as much as a small
        # network's step: switch only when some module is in eval mode.
        for module in self._modules_list:
            if not module.training:
                self.distributions.train()
                break
        saved = self._buffers.take()  # [] for networks without buffers (most VAEs)
        try:
            return self._step(train_x_dict, kwargs, saved)
        except BaseException:  # a failed step leaves the model as it was (also on ^C)
            self.optimizer.zero_grad(set_to_none=True)
            self._buffers.restore(saved)
            raise

    def _step(self, x_dict: Mapping[str, Any] | None, kwargs: Mapping[str, Any], saved: Any) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss_cls.eval(x_dict, **kwargs)
        if loss.dim():
            raise ShapeError(
                f"Model.train needs a scalar loss, but {self.loss_cls} gives one of shape "
                f"{tuple(loss.shape)}: reduce it over the batch with .mean() or .sum()"
            )
        value = loss.item()
        if not math.isfinite(value):
            return self._reject(loss, "loss", value, saved, x_dict, kwargs)
        self._backward(loss)
        if self.clip_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self._params, self.clip_grad_norm)
            if not torch.isfinite(norm):
                return self._reject(loss, "gradient norm", norm.item(), saved)
        elif self.check_grads:
            grads = [p.grad for p in self._params if p.grad is not None]
            total = torch.nn.utils.get_total_norm(grads).item() if grads else 0.0
            if not math.isfinite(total):
                return self._reject(loss, "gradient norm", total, saved)
        if self.clip_grad_value is not None:
            torch.nn.utils.clip_grad_value_(self._params, self.clip_grad_value)
        self.optimizer.step()
        return loss.detach()

    def _backward(self, loss: torch.Tensor) -> None:
        if not loss.requires_grad:
            raise InputTypeError(
                f"Model.train: the loss {self.loss_cls} carries no gradient: it does not depend on "
                "the trained distributions' parameters (is it detached, or are the networks that "
                "compute it missing from distributions?)"
            )
        try:
            loss.backward(retain_graph=self.retain_graph)
        except RuntimeError as err:
            hint = (
                " An input computed with a graph of its own is backpropagated through at every "
                "step: pass retain_graph=True, or detach it"
                if "second time" in str(err)
                else ""
            )
            raise ForwardError(
                f"Model.train: backward through {self.loss_cls} raised RuntimeError: "
                f"{str(err).rstrip('.')}.{hint}"
            ) from err

    def _reject(
        self,
        loss: torch.Tensor,
        what: str,
        value: float,
        saved: Any,
        x_dict: Mapping[str, Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        self._buffers.restore(saved)
        if self.on_nonfinite == "skip":
            return loss.detach()
        cause = self._diagnose(x_dict, kwargs or {}, saved) if what == "loss" else ""
        raise NonFiniteLossError(
            f"the {what} of {self.loss_cls} is not finite ({value}); parameters, buffers and "
            f"optimizer state are unchanged.{cause} Lower the learning rate, clip gradients "
            "(clip_grad_norm=...), or pass on_nonfinite='skip'"
        )

    def _diagnose(self, x_dict: Mapping[str, Any] | None, kwargs: Mapping[str, Any], saved: Any) -> str:
        """Failure path: the first invalid parameter, found by evaluating with validation on.

        The second evaluation runs in eval mode, without gradients: in train
        mode it would update the buffers once more (BatchNorm's running
        statistics) and draw new dropout masks. The buffers are restored again
        afterwards, in case a module updates them in eval mode too.
        """
        dists = [m for m in self._modules_list if isinstance(m, ParametricDistribution)]
        saved_checks = [d.validate_args for d in dists]
        modes = [m.training for m in self._modules_list]
        try:
            for d in dists:
                d.validate_args = True
            self.distributions.eval()
            with torch.no_grad():
                self.loss_cls.eval(x_dict, **kwargs)
        except ParameterError as err:
            return f" Evaluated again with validate_args=True (in eval mode): {err}."
        except Exception:  # the diagnosis must not hide the error it diagnoses
            return ""
        finally:
            for d, v in zip(dists, saved_checks, strict=True):
                d.validate_args = v
            self._restore_modes(modes)
            self._buffers.restore(saved)
        return ""

    def _restore_modes(self, modes: list[bool]) -> None:
        for m, mode in zip(self._modules_list, modes, strict=True):
            m.training = mode

    def test(self, test_x_dict: Mapping[str, Any] | None = None, **kwargs: Any) -> torch.Tensor:
        """Evaluate the test loss without gradients, networks in eval mode.

        Each module's mode (train or eval) is restored afterwards, also when
        the evaluation fails.
        """
        if kwargs:
            check_eval_kwargs(kwargs, "Model.test", return_dict=True)
        modes = [m.training for m in self._modules_list]
        self.distributions.eval()
        try:
            with torch.no_grad():
                return self.test_loss_cls.eval(test_x_dict, **kwargs)
        finally:
            self._restore_modes(modes)

    def state_dict(self) -> dict[str, Any]:
        """Networks and optimizer state, for checkpoints."""
        return {
            "distributions": self.distributions.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned.

        The checkpoint is checked against the model before anything is copied:
        a mismatch (keys, shapes, the optimizer's parameter groups) raises and
        leaves the model as it was.

        Raises:
            InputTypeError: ``state`` is not a checkpoint of this model's layout.
            ShapeError: a tensor's shape differs from the model's.
        """
        load_checkpoint(self.distributions, self.optimizer, state)
