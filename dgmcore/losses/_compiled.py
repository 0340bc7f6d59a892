""":class:`CompiledLoss`: an objective compiled with ``torch.compile``."""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable
from typing import Any

import torch

from dgmcore import memo
from dgmcore.errors import DGMError
from dgmcore.losses._base import Loss, XDict

__all__ = ["CompiledLoss"]

_serial = itertools.count()


def _own_code(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of the function ``fn`` with a code object of its own.

    torch.compile keeps compiled graphs, and its limit on recompilations, per
    code object. Sharing one ``_run`` between every compiled loss would make
    each new loss a recompilation of the others, and past the limit (8) a loss
    would silently run eagerly.
    """
    code = fn.__code__
    code = code.replace(co_name=f"{code.co_name}_{next(_serial)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


class CompiledLoss(Loss):
    """A loss whose evaluation runs through ``torch.compile``; built by :meth:`Loss.compile`.

    The whole objective (networks, distributions, loss arithmetic) is traced
    into one graph. Values and gradients equal the eager loss; random draws
    follow the compiler's random-number semantics unless
    ``torch._inductor.config.fallback_random = True`` (the ``"eager"`` and
    ``"aot_eager"`` backends draw exactly as eager code does).

    The memo cache (:mod:`dgmcore.memo`) works inside the compiled region as
    it does eagerly: the traced function opens a store of its own, keyed by
    the input tensors themselves (no ids or versions, which would guard or
    break the graph), so a network used by several terms is traced once and
    the graph computes it, and its backward, once. Common-subexpression
    elimination alone would not do: it merges the duplicated forward but not
    the two backward passes through it.

    The first evaluation runs eagerly. It fills the lazy caches the loss
    consults (plugin discovery, the KL registry's dispatch, feature dimensions
    inferred from the first parameters), so the graph traced from the second
    evaluation on holds tensor operations only and no graph breaks.

    ``eval(..., return_dict=True)`` is compiled too: the drawn variables are
    returned from the graph.

    Args:
        loss: the loss to compile.
        **compile_kwargs: passed to ``torch.compile`` (``backend``, ``mode``...).

    Example:
        >>> import torch
        >>> from dgmcore.losses import Parameter
        >>> loss = (2 * Parameter("a") - 1).compile(backend="eager")
        >>> loss.eval({"a": torch.tensor([1.0, 2.0])})  # eager: fills the lazy caches
        tensor([1., 3.])
        >>> loss.eval({"a": torch.tensor([1.0, 2.0])})  # traced and compiled
        tensor([1., 3.])
        >>> str(loss)
        '2 * a - 1'
    """

    loss: Loss

    def __init__(self, loss: Loss, **compile_kwargs: Any) -> None:
        if isinstance(loss, CompiledLoss):
            loss = loss.loss
        super().__init__(loss._input_var)
        self.loss = loss
        self._precedence = loss._precedence
        run = types.MethodType(_own_code(CompiledLoss._run), self)
        self._fn = torch.compile(run, **compile_kwargs)
        self._warm = False

    def _run(self, x: XDict, with_samples: bool) -> tuple[torch.Tensor, XDict | None]:
        samples: XDict | None = {} if with_samples else None
        with memo.scope(store={}):  # a store that lives only while tracing: see the class docstring
            return self.loss._eval(x, samples), samples

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        if not self._warm:  # see the class docstring
            value = self.loss._eval(x, samples)
            self._warm = True
            return value
        try:
            value, drawn = self._fn(x, samples is not None)
        except DGMError:
            raise
        except Exception as err:
            # torch and dynamo raise their own types for what eager code reports as a DGMError
            # (a forward's failure is a bare RuntimeError, a shape clash a TorchRuntimeError):
            # the failure path evaluates eagerly, which raises the error the eager loss gives
            exc = self._explain(x, samples, err)
            if exc is err:
                raise
            raise exc from (exc.__cause__ or err)
        if drawn:
            samples.update(drawn)  # type: ignore[union-attr]
        return value

    def _explain(self, x: XDict, samples: XDict | None, err: Exception) -> Exception:
        """Failure path: the eager loss's error for this input; ``err`` itself when eager succeeds.

        Eager success means the compiler failed on good input: torch's own
        exception says what, and is raised unchanged.
        """
        try:
            self.loss._eval(x, samples)
        except DGMError as eager:
            return eager
        except Exception:  # eager fails untyped as well: the compiled error is as good
            return err
        return err

    def _text(self) -> str:
        return self.loss._text()

    def _symbolic(self) -> Any:
        return self.loss._symbolic()
