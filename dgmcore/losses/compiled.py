""":class:`CompiledLoss`: an objective compiled with ``torch.compile``."""

from __future__ import annotations

from typing import Any

import torch

from dgmcore.losses.base import Loss, XDict

__all__ = ["CompiledLoss"]


class CompiledLoss(Loss):
    """A loss whose evaluation runs through ``torch.compile``.

    The whole objective (networks, distributions, loss arithmetic) is traced
    into one graph; values and gradients equal the eager loss (random draws
    follow the compiler's random-number semantics unless
    ``torch._inductor.config.fallback_random`` is set). Built by
    :meth:`Loss.compile`.
    """

    def __init__(self, loss: Loss, **compile_kwargs: Any) -> None:
        super().__init__(loss._input_var)
        self.loss = loss
        self._precedence = loss._precedence
        self._fn = torch.compile(self._run, **compile_kwargs)

    def _run(self, x: XDict) -> torch.Tensor:
        return self.loss._eval(x, None)

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        if samples is not None:
            return self.loss._eval(x, samples)
        return self._fn(x)

    def _text(self) -> str:
        return self.loss._text()

    def _symbolic(self) -> Any:
        return self.loss._symbolic()
