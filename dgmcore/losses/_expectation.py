""":class:`Expectation`: :math:`\\mathbb{E}_{p}[f]` by Monte-Carlo."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from dgmcore.distributions._base import Distribution
from dgmcore.distributions._inputs import sample_shape_of
from dgmcore.distributions._sample_dims import extra_sample_dims, sample_dims
from dgmcore.errors import InputTypeError
from dgmcore.losses._base import Loss, XDict, as_loss, unsigned
from dgmcore.losses._terms import check_distribution

__all__ = ["Expectation"]


class Expectation(Loss):
    """:math:`\\mathbb{E}_{p}[f]`, estimated with ``sample_shape`` samples per batch element.

    The sample dimensions are averaged out, so the result keeps one value per
    batch element. With the default ``sample_shape=(1,)`` the one sample is
    drawn without a sample dimension (``z`` has the shape ``(batch, ...)``, as
    in Pixyz), which gives the same value. When ``f`` does not depend on
    ``p``'s variables, :math:`\\mathbb{E}_p[f] = f` and ``f`` is evaluated
    directly (nothing is drawn). An expectation over an unconditioned ``p``
    where nothing fixes a batch size is a scalar, like the closed forms.

    With ``reparam=True`` samples are reparameterised when ``p``
    allows it; when it does not (a discrete ``p``), the gradient is the
    score-function (REINFORCE) estimator: the value is unchanged and the
    gradient gains :math:`f \\nabla \\log p`. With ``reparam=False`` no gradient
    flows through the samples at all.

    The loss ``f`` must keep its sample and batch dimensions: reduce over the
    batch outside the expectation (``E[f].mean()``), not inside it.

    Args:
        p: the distribution to sample from.
        f: the loss to average.
        sample_shape: samples per batch element (default ``(1,)``).
        reparam: use reparameterised (or score-function) gradients.

    Raises:
        InputTypeError: ``p`` is not a distribution, ``f`` not a loss or a
            number, or ``sample_shape`` not a tuple of positive integers.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import ParametricDistribution
        >>> class Normal(ParametricDistribution):
        ...     family = torch.distributions.Normal
        ...     params = ("loc", "scale")
        >>> from dgmcore.losses import Expectation
        >>> q = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> p = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> rec = Expectation(q, p.log_prob(), sample_shape=(4,))
        >>> str(rec), rec.input_var
        ('E_{q(z|x)}[log p(x|z)]', ['x'])
        >>> value, samples = rec.eval({"x": torch.zeros(3, 2)}, return_dict=True)
        >>> value.shape, samples["z"].shape
        (torch.Size([3]), torch.Size([4, 3, 2]))
    """

    def __init__(
        self, p: Distribution, f: Loss, sample_shape: Iterable[int] | int = (1,), reparam: bool = True
    ) -> None:
        self.p = check_distribution(p, "Expectation")
        try:
            self.f = as_loss(f)
        except InputTypeError:
            raise InputTypeError(
                f"Expectation over {p.prob_text} needs a loss or a number to average, got "
                f"{type(f).__name__} {f!r}"
            ) from None
        self.sample_shape = sample_shape_of(sample_shape, f"Expectation over {p.prob_text}")
        self.reparam = reparam
        own = set(p.var)
        super().__init__(
            list(p.input_var) + [v for v in self.f._input_var if v not in own and v not in p.input_var]
        )
        self._rsample = reparam and p.has_reparam
        self._score = reparam and not p.has_reparam
        # one sample is drawn without a sample dim: the mean of one sample is that sample, and
        # forwards written for (batch, features) inputs (Pixyz's torch.cat([z, y], 1)) work
        self._draw_shape = torch.Size() if self.sample_shape == (1,) else self.sample_shape
        self._dims = tuple(range(len(self._draw_shape)))
        # f not depending on p's variables: E_p[f] = f, with no draw (and f's own batch)
        self._direct = not own.intersection(self.f._input_var)
        if self._direct:
            self._input_var = self.f._input_var
        # an unconditioned p draws one sample per batch element of what f is evaluated on
        self._batch_from = () if p.input_var else tuple(v for v in self._input_var if v not in own)
        self._unconditioned = not p.input_var

    def _batch_n(self, x: XDict) -> int | None:
        pos = sample_dims()
        for v in self._batch_from:
            t = x.get(v)
            if isinstance(t, torch.Tensor) and t.dim() > pos:
                return int(t.shape[pos])
        return None

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        return unsigned(self._eval_signed(x, samples, False))

    def _eval_signed(
        self, x: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        # linear in f: the sign f is computed in passes through (the surrogate's too)
        if self._direct:
            return self.f._signed(x, samples, prefer_negated)
        shape = self._draw_shape
        batch_n = self._batch_n(x) if self._batch_from else None
        draw = self.p.sample(x, batch_n, shape, return_all=True, reparam=self._rsample)
        if samples is not None:
            samples.update({v: draw[v] for v in self.p.var})
        if shape:
            with extra_sample_dims(len(shape)):
                value, negated = self._score_value(draw, samples, prefer_negated)
        else:  # one sample, no sample dim: nothing to declare
            value, negated = self._score_value(draw, samples, prefer_negated)
        if self._dims:
            value = value.mean(dim=self._dims)
        if batch_n is None and self._unconditioned:
            # nothing fixed a batch: the batch of one drawn is dropped, as in the closed form
            value = value.squeeze(0)
        return value, negated

    def _score_value(
        self, draw: XDict, samples: XDict | None, prefer_negated: bool
    ) -> tuple[torch.Tensor, bool]:
        """``f`` on the draw; with the score-function surrogate when ``p`` is not reparameterised."""
        value, negated = self.f._signed(draw, samples, prefer_negated)
        if self._score:
            # REINFORCE surrogate: same value, gradient f * grad log p
            logp = self.p.get_log_prob(draw)
            if value.dim() > logp.dim():  # f kept its feature dims (sum_features=False)
                logp = logp.reshape(logp.shape + (1,) * (value.dim() - logp.dim()))
            value = value + value.detach() * (logp - logp.detach())
        return value, negated

    def _text(self) -> str:
        return f"E_{{{self.p.prob_text}}}[{self.f._text()}]"

    def _symbolic(self) -> Any:
        from dgmcore.latex import loss_latex, symbol

        return symbol(
            self._text(), f"\\mathbb{{E}}_{{{self.p.latex}}}\\left[{loss_latex(self.f)}\\right]"
        )
