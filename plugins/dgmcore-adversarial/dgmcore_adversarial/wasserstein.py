"""The Wasserstein-1 distance estimated by a critic (WGAN), with weight clipping or a gradient penalty."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import ParameterError, ShapeError
from dgmcore.latex import symbol
from dgmcore_adversarial.base import AdversarialLoss, XDict

__all__ = ["AdversarialWassersteinDistance", "gradient_penalty"]


def gradient_penalty(
    critic: Callable[[XDict], torch.Tensor],
    x_p: Mapping[str, torch.Tensor],
    x_q: Mapping[str, torch.Tensor],
    variables: Sequence[str] | None = None,
    epsilon: torch.Tensor | None = None,
) -> torch.Tensor:
    """The WGAN-GP penalty :math:`(\\|\\nabla_{\\hat x} f(\\hat x)\\|_2 - 1)^2`, one per sample.

    :math:`\\hat x = \\epsilon x_p + (1 - \\epsilon) x_q` with one
    :math:`\\epsilon \\sim U[0, 1]` per sample, shared by all ``variables``;
    the norm is over every feature of every interpolated variable together
    (Gulrajani et al., 2017, Algorithm 1). The result keeps its graph
    (``create_graph``), so the penalty trains the critic.

    Args:
        critic: maps a dict of inputs to one value per sample, shape ``(batch,)``.
        x_p: the critic's inputs on samples of ``p``.
        x_q: the critic's inputs on samples of ``q``; entries not in
            ``variables`` (a label) are passed from ``x_p`` unchanged.
        variables: the variables interpolated (default: all keys of ``x_p``).
        epsilon: the interpolation weights, shape ``(batch,)`` (default: uniform draws).

    Returns:
        The penalty of each sample, shape ``(batch,)``.

    Example:
        >>> import torch
        >>> critic = lambda d: 3.0 * d["x"].sum(-1)  # gradient 3 everywhere: norm 3 sqrt(2)
        >>> gp = gradient_penalty(critic, {"x": torch.zeros(4, 2)}, {"x": torch.ones(4, 2)})
        >>> torch.allclose(gp, torch.full((4,), (3 * 2 ** 0.5 - 1) ** 2))
        True
    """
    names = list(x_p) if variables is None else list(variables)
    first = x_p[names[0]]
    batch = first.shape[0]
    for v in names:
        if x_p[v].shape != x_q[v].shape:
            raise ShapeError(
                f"gradient_penalty interpolates samples of the same shape, but {v!r} has "
                f"{tuple(x_p[v].shape)} on one side and {tuple(x_q[v].shape)} on the other"
            )
    if epsilon is None:
        epsilon = torch.rand(batch, device=first.device, dtype=first.dtype)
    with torch.enable_grad():
        inputs = dict(x_p)
        hats = []
        for v in names:
            eps = epsilon.reshape(batch, *([1] * (x_p[v].dim() - 1)))
            hat = (eps * x_p[v].detach() + (1 - eps) * x_q[v].detach()).requires_grad_(True)
            inputs[v] = hat
            hats.append(hat)
        out = critic(inputs)
        grads = torch.autograd.grad(out.sum(), hats, create_graph=True)
    sq = sum(g.reshape(batch, -1).pow(2).sum(-1) for g in grads)
    return (torch.as_tensor(sq).sqrt() - 1).pow(2)


class AdversarialWassersteinDistance(AdversarialLoss):
    """The Wasserstein-1 distance by its dual, with the critic ``d`` trained by the loss.

    .. math::

        W(p, q) = \\sup_{\\|d\\|_L \\le 1} \\mathbb{E}_{p(x)}[d(x)] - \\mathbb{E}_{q(x)}[d(x)]

    (Arjovsky et al., 2017). The term is :math:`d(x_p) - d(x_q)` for each pair
    of samples, minimised over the generator; the critic minimises
    :math:`-(\\overline{d(x_p)} - \\overline{d(x_q)})`, plus
    ``gradient_penalty`` times the mean :func:`gradient_penalty` (WGAN-GP,
    Gulrajani et al., 2017; 10 in the paper). ``clip_value`` clamps the
    critic's weights to ``[-c, c]`` after each step (the original WGAN, 0.01
    there). The critic's output is unbounded: no sigmoid.

    Args:
        p: the first distribution (e.g. the generator).
        q: the second one (e.g. the data).
        discriminator: the critic ``d(t|x)``; one value per sample.
        optimizer: the critic's optimizer class.
        optimizer_params: its keyword arguments.
        clip_value: clamp the critic's weights after each step (None: no clipping).
        gradient_penalty: weight of the gradient penalty (None: no penalty).

    Raises:
        ParameterError: ``clip_value`` or ``gradient_penalty`` is not positive.
    """

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        discriminator: Distribution,
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
        clip_value: float | None = None,
        gradient_penalty: float | None = None,
    ) -> None:
        super().__init__(p, q, discriminator, optimizer, optimizer_params)
        for arg, value in (("clip_value", clip_value), ("gradient_penalty", gradient_penalty)):
            if value is not None and not value > 0:
                raise ParameterError(f"{self}: {arg} must be positive or None, got {value!r}")
        self.clip_value = clip_value
        self.gradient_penalty = gradient_penalty

    def _generator_value(self, y_p: torch.Tensor, y_q: torch.Tensor | None) -> torch.Tensor:
        assert y_q is not None  # needs_q: always drawn
        return y_p - y_q

    def _discriminator_loss(
        self, y_p: torch.Tensor, y_q: torch.Tensor, d_p: XDict, d_q: XDict
    ) -> torch.Tensor:
        loss = y_q.mean() - y_p.mean()
        if self.gradient_penalty is not None:
            penalty = gradient_penalty(self._discriminate, d_p, d_q, self._read)
            loss = loss + self.gradient_penalty * penalty.mean()
        return loss

    def _after_step(self) -> None:
        if self.clip_value is not None:
            with torch.no_grad():
                for t in self._d_params:
                    t.clamp_(-self.clip_value, self.clip_value)

    def _text(self) -> str:
        return f"W^Adv({self.p.prob_text}, {self.q.prob_text})"

    def _symbolic(self) -> Any:
        return symbol(self._text(), f"W^{{Adv}}\\left({self._pair_latex(',')}\\right)")
