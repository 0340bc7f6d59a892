"""The base of every adversarial term: a loss that owns and trains its discriminator.

An adversarial divergence between two distributions ``p`` and ``q`` (a generator
and the data, an aggregate posterior and a prior, ...) is estimated through a
discriminator ``d`` that the loss trains itself (DESIGN.md section 4.1):

* as a loss term it gives the **generator's** value, one per batch element;
  the discriminator's parameters are frozen while it is evaluated, so a
  generator step never puts gradients into them;
* :meth:`AdversarialLoss.loss_train` gives the **discriminator's** loss (a
  scalar); the samples of ``p`` and ``q`` are drawn without gradients, so a
  discriminator step never puts gradients into the generator;
* :meth:`AdversarialLoss.train` runs one discriminator step with the loss's own
  optimizer; :meth:`AdversarialLoss.test` evaluates the discriminator's loss.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from dgmcore import memo
from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError, InputTypeError, MissingVariableError, NonFiniteLossError, ShapeError
from dgmcore.losses import Loss

__all__ = ["AdversarialLoss", "VariableMismatchError", "frozen", "short_latex"]

XDict = dict[str, Any]


class VariableMismatchError(DGMError, ValueError):
    """The two distributions of a divergence do not generate the same variables."""


class frozen:  # noqa: N801 - used like a function: ``with frozen(params):``
    """Record no gradient for ``params`` inside the block (their flags are restored after)."""

    __slots__ = ("_params", "_flags")

    def __init__(self, params: Sequence[torch.nn.Parameter]) -> None:
        self._params = params

    def __enter__(self) -> None:
        self._flags = [p.requires_grad for p in self._params]
        for p in self._params:
            p.requires_grad_(False)

    def __exit__(self, *exc: object) -> None:
        for p, flag in zip(self._params, self._flags, strict=True):
            p.requires_grad_(flag)


def short_latex(d: Distribution) -> str:
    """LaTeX of a distribution's short formula, ``p(x|z)`` (not its factorisation)."""
    from dgmcore.latex import var_latex

    text = ",".join(var_latex(v) for v in d.var)
    if d.cond_var:
        text += "|" + ",".join(var_latex(v) for v in d.cond_var)
    return f"{var_latex(d.name)}\\left({text}\\right)"


def _as_x_dict(x_dict: Any, owner: Loss) -> XDict:
    if x_dict is None:
        return {}
    if type(x_dict) is dict:
        return x_dict
    if isinstance(x_dict, Mapping):
        return dict(x_dict)
    raise InputTypeError(
        f"{owner}: x_dict must be a dict of tensors keyed by {owner.input_var}, got {type(x_dict).__name__}"
    )


class AdversarialLoss(Loss):
    """A divergence between ``p`` and ``q`` estimated by a discriminator the loss trains.

    The discriminator ``d(t|x)`` is a :class:`~dgmcore.distributions.Deterministic`
    network distribution (so it prints as a formula) that reads some of the
    variables ``p`` and ``q`` generate, and possibly others taken from
    ``x_dict`` (a label in a conditional GAN). Its output has one value per
    sample: shape ``(batch,)`` or ``(batch, 1)``.

    Subclass requirements: implement :meth:`_generator_value` (the term, one
    value per batch element, from the discriminator's outputs on the two
    sides), :meth:`_discriminator_loss` (a scalar to minimise), ``_text`` and
    ``_symbolic``; set :attr:`needs_q` to False when the generator's value
    reads only ``p``'s side.

    Args:
        p: the first distribution (its samples are labelled 1 for a classifier).
        q: the second distribution, generating the same variables.
        discriminator: the discriminator (or critic) ``d``.
        optimizer: the discriminator's optimizer class.
        optimizer_params: keyword arguments of the optimizer (e.g. ``lr``).

    Raises:
        InputTypeError: an argument is not a distribution, the discriminator
            generates more than one variable or has no parameters.
        VariableMismatchError: ``p`` and ``q`` generate different variables,
            or the discriminator reads none of them.
    """

    #: Whether the generator's value needs samples of ``q`` (not for the KL).
    needs_q = True

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        discriminator: Distribution,
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
    ) -> None:
        name = type(self).__name__
        for arg, value in (("p", p), ("q", q), ("discriminator", discriminator)):
            if not isinstance(value, Distribution):
                raise InputTypeError(
                    f"{name}: {arg} must be a dgmcore Distribution, got {type(value).__name__}"
                )
        self.p, self.q, self.d = p, q, discriminator
        if set(p.var) != set(q.var):
            raise VariableMismatchError(
                f"{self}: the two distributions must generate the same variables, but "
                f"{p.prob_text} generates {p.var} and {q.prob_text} generates {q.var}"
            )
        if len(discriminator.var) != 1:
            raise InputTypeError(
                f"{self}: the discriminator must generate one variable (its score), "
                f"{discriminator.prob_text} generates {discriminator.var}"
            )
        self._read = tuple(v for v in discriminator.cond_var if v in p.var)
        if not self._read:
            raise VariableMismatchError(
                f"{self}: the discriminator {discriminator.prob_text} reads none of the variables "
                f"{p.var} that {p.prob_text} and {q.prob_text} generate"
            )
        extra = [v for v in discriminator.cond_var if v not in p.var]
        if not p.input_var and not q.input_var:
            raise InputTypeError(
                f"{self}: neither {p.prob_text} nor {q.prob_text} takes an input, so nothing fixes "
                "the batch size; give one of them an input (the data distribution EmpiricalDistribution)"
            )
        self._d_params = [t for t in discriminator.parameters() if t.requires_grad]
        if not self._d_params:
            raise InputTypeError(
                f"{self}: the discriminator {discriminator.prob_text} has no trainable parameters"
            )
        self.d_optimizer = optimizer(self._d_params, **dict(optimizer_params or {}))
        self._score = discriminator.var[0]
        inputs = list(p.input_var)
        inputs += [v for v in q.input_var if v not in inputs]
        inputs += [v for v in extra if v not in inputs]
        self._in_vars = tuple(inputs)  # what drawing the two sides needs
        super().__init__(self._term_inputs())

    def _term_inputs(self) -> list[str]:
        """The variables the generator's term needs (default: what drawing the two sides needs)."""
        return list(self._in_vars)

    # -- sampling and scoring -------------------------------------------------------
    def _draw(self, side: Distribution, x: XDict, batch_n: int) -> XDict:
        """A sample of ``side`` with the discriminator's other inputs from ``x``."""
        try:
            if side.input_var:
                draw = side.sample({v: x[v] for v in side.input_var}, reparam=side.has_reparam)
            else:
                draw = side.sample(batch_n=batch_n, reparam=side.has_reparam)
            return {v: draw[v] if v in draw else x[v] for v in self.d.cond_var}
        except KeyError as err:
            if isinstance(err, DGMError):
                raise
            raise MissingVariableError(str(err.args[0]), str(self), x) from None

    def _batch_n(self, x: XDict) -> int:
        for v in self._in_vars:
            t = x.get(v)
            if isinstance(t, torch.Tensor) and t.dim():
                return int(t.shape[0])
        raise MissingVariableError(self._in_vars[0], str(self), x)

    def _discriminate(self, inputs: XDict) -> torch.Tensor:
        """The discriminator's output on ``inputs``, one value per sample (shape checked)."""
        with memo.disabled():  # never share a result across the frozen and the trained views
            y = self.d.sample(inputs, return_all=False)[self._score]
        batch = inputs[self._read[0]].shape[0]
        if y.dim() == 2 and y.shape[1] == 1 and y.shape[0] == batch:
            return y.squeeze(1)
        if y.dim() == 1 and y.shape[0] == batch:
            return y
        raise ShapeError(
            f"{self}: the discriminator {self.d.prob_text} must give one value per sample, of shape "
            f"({batch},) or ({batch}, 1), but gave {tuple(y.shape)} for inputs of shapes "
            f"{ {k: tuple(v.shape) for k, v in inputs.items()} }"
        )

    # -- the generator's term ----------------------------------------------------------
    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        batch_n = self._batch_n(x)
        with frozen(self._d_params):
            d_p = self._draw(self.p, x, batch_n)
            d_q = self._draw(self.q, x, batch_n) if self.needs_q else None
            if samples is not None:
                samples.update({v: d_p[v] for v in self.p.var if v in d_p})
            y_q = self._discriminate(d_q) if d_q is not None else None
            return self._generator_value(self._discriminate(d_p), y_q)

    def _generator_value(self, y_p: torch.Tensor, y_q: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _generator_value")

    # -- the discriminator's loss and step ---------------------------------------------
    def _discriminator_loss(
        self, y_p: torch.Tensor, y_q: torch.Tensor, d_p: XDict, d_q: XDict
    ) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _discriminator_loss")

    def loss_train(self, x_dict: Mapping[str, Any] | None = None) -> torch.Tensor:
        """The discriminator's loss on ``x_dict`` (a scalar, with gradients into ``d`` only).

        The samples of ``p`` and ``q`` are drawn without gradients: backpropagating
        this loss never reaches the generator's parameters.
        """
        x = _as_x_dict(x_dict, self)
        with memo.scope():
            batch_n = self._batch_n(x)
            with torch.no_grad():
                d_p = self._draw(self.p, x, batch_n)
                d_q = self._draw(self.q, x, batch_n)
            return self._discriminator_loss(self._discriminate(d_p), self._discriminate(d_q), d_p, d_q)

    def train(self, train_x_dict: Mapping[str, Any] | None = None) -> torch.Tensor:
        """One discriminator step (zero_grad, :meth:`loss_train`, backward, step); the loss, detached.

        Raises:
            NonFiniteLossError: the loss is NaN or infinite; nothing was updated.
            DGMError: called inside an open ``dgmcore.memo.scope()``.
        """
        if memo.is_active():
            raise DGMError(
                f"{self}: train() was called inside an open dgmcore.memo.scope(); results memoized "
                "before the step would be reused after it. Call it outside the scope"
            )
        if not self.d.training:  # Module.train() walks the tree: only when needed
            self.d.train()
        self.d_optimizer.zero_grad(set_to_none=True)
        loss = self.loss_train(train_x_dict)
        if not math.isfinite(loss.item()):
            self.d_optimizer.zero_grad(set_to_none=True)
            raise NonFiniteLossError(
                f"the discriminator loss of {self} is not finite ({loss.item()}); the discriminator "
                "and its optimizer are unchanged. Lower its learning rate (optimizer_params)"
            )
        loss.backward()
        self.d_optimizer.step()
        self._after_step()
        return loss.detach()

    def _after_step(self) -> None:
        """Called after each discriminator step (weight clipping)."""

    def test(self, test_x_dict: Mapping[str, Any] | None = None) -> torch.Tensor:
        """The discriminator's loss without gradients, the discriminator in eval mode."""
        was_training = self.d.training
        self.d.eval()
        try:
            with torch.no_grad():
                return self.loss_train(test_x_dict)
        finally:
            self.d.train(was_training)

    def state_dict(self) -> dict[str, Any]:
        """The discriminator's weights and its optimizer's state, for checkpoints."""
        return {"discriminator": self.d.state_dict(), "optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        missing = {"discriminator", "optimizer"} - set(state)
        if missing:
            raise InputTypeError(f"{self}: load_state_dict needs the keys {sorted(missing)}")
        self.d.load_state_dict(state["discriminator"])
        self.d_optimizer.load_state_dict(state["optimizer"])

    # -- text ---------------------------------------------------------------------------
    def _pair_latex(self, sep: str = "\\|") -> str:
        """``p`` and ``q`` in LaTeX as their short formulas (``p(x)``), with ``sep`` between them."""
        return f"{short_latex(self.p)} {sep} {short_latex(self.q)}"
