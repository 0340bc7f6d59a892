"""Adversarial Jensen-Shannon and Kullback-Leibler divergences, and the density ratio.

All three train the discriminator ``d(t|x)`` as a classifier: it outputs the
probability that ``x`` was drawn from ``p`` (the first argument) rather than
from ``q``, and minimises the binary cross-entropy

.. math::

    \\mathcal{L}_d = -\\mathbb{E}_{p(x)}[\\log d(x)] - \\mathbb{E}_{q(x)}[\\log(1 - d(x))],

whose minimiser is :math:`d^*(x) = p(x) / (p(x) + q(x))` (Goodfellow et al.,
2014, Proposition 1). Logarithms are clamped at -100, as ``torch.nn.BCELoss``
does, so a saturated discriminator gives large finite values, not infinities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.nn import functional as F

from dgmcore.distributions import Distribution
from dgmcore.errors import ParameterError
from dgmcore.latex import symbol
from dgmcore_adversarial.base import AdversarialLoss, XDict, frozen, short_latex

__all__ = ["AdversarialJensenShannon", "AdversarialKullbackLeibler", "DensityRatio"]


def _bce(owner: AdversarialLoss, y: torch.Tensor, label: int, reduction: str = "none") -> torch.Tensor:
    """``-log y`` (label 1) or ``-log(1 - y)`` (label 0), clamped like ``BCELoss``."""
    target = torch.ones_like(y) if label else torch.zeros_like(y)
    try:
        return F.binary_cross_entropy(y, target, reduction=reduction)
    except RuntimeError as err:
        raise ParameterError(
            f"{owner}: the discriminator {owner.d.prob_text} must output probabilities in [0, 1] "
            f"(end its network with a sigmoid): {err}"
        ) from err


class _Classifier(AdversarialLoss):
    """A term whose discriminator is trained as a classifier between ``p`` (1) and ``q`` (0)."""

    def _discriminator_loss(
        self, y_p: torch.Tensor, y_q: torch.Tensor, d_p: XDict, d_q: XDict
    ) -> torch.Tensor:
        return _bce(self, y_p, 1, "mean") + _bce(self, y_q, 0, "mean")


class AdversarialJensenShannon(_Classifier):
    """The Jensen-Shannon divergence estimated adversarially (the GAN objective).

    With the discriminator at its optimum :math:`d^*`,

    .. math::

        \\mathbb{E}_{p(x)}[\\log d^*(x)] + \\mathbb{E}_{q(x)}[\\log(1 - d^*(x))]
        = 2 D_{JS}[p\\|q] - \\log 4

    (Goodfellow et al., 2014, Theorem 1). With ``inverse_g_loss=False`` the
    term is this value, one per pair of samples :math:`x_p^{(i)} \\sim p`,
    :math:`x_q^{(i)} \\sim q`. With ``inverse_g_loss=True`` (the default, as in
    Pixyz) it is the non-saturating generator loss
    :math:`-\\log(1 - d(x_p)) - \\log d(x_q)`, which has the same fixed point
    and strong gradients early in training (Goodfellow et al., 2014, section 3).
    Minimise it over the generator, which may be either side.

    Args:
        p: the first distribution (e.g. the generator).
        q: the second one (e.g. ``EmpiricalDistribution(["x"])``, the data).
        discriminator: ``d(t|x)``, ending in a sigmoid; one value per sample.
        optimizer: the discriminator's optimizer class.
        optimizer_params: its keyword arguments.
        inverse_g_loss: use the non-saturating generator loss.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from dgmcore.distributions import Deterministic, EmpiricalDistribution
        >>> from dgmcore_adversarial import AdversarialJensenShannon
        >>> class Generator(Deterministic):
        ...     def __init__(self):
        ...         super().__init__(var=["x"], cond_var=["z"], name="p")
        ...         self.net = nn.Linear(2, 3)
        ...     def forward(self, z):
        ...         return {"x": self.net(z)}
        >>> class Discriminator(Deterministic):
        ...     def __init__(self):
        ...         super().__init__(var=["t"], cond_var=["x"], name="d")
        ...         self.net = nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
        ...     def forward(self, x):
        ...         return {"t": self.net(x)}
        >>> from dgmcore_families import Normal
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_{prior}")
        >>> p = (Generator() * prior).marginalize_var("z")
        >>> loss = AdversarialJensenShannon(p, EmpiricalDistribution(["x"]), Discriminator())
        >>> print(loss.mean())
        mean(D_JS^Adv[p(x)||p_{data}(x)])
        >>> x = {"x": torch.randn(8, 3)}
        >>> loss.eval(x).shape, loss.loss_train(x).shape
        (torch.Size([8]), torch.Size([]))
        >>> d_loss = loss.train(x)  # one discriminator step
    """

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        discriminator: Distribution,
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
        inverse_g_loss: bool = True,
    ) -> None:
        super().__init__(p, q, discriminator, optimizer, optimizer_params)
        self.inverse_g_loss = inverse_g_loss

    def _generator_value(self, y_p: torch.Tensor, y_q: torch.Tensor | None) -> torch.Tensor:
        assert y_q is not None  # needs_q: always drawn
        if self.inverse_g_loss:
            return _bce(self, y_p, 0) + _bce(self, y_q, 1)
        return -(_bce(self, y_p, 1) + _bce(self, y_q, 0))

    def _text(self) -> str:
        return f"D_JS^Adv[{self.p.prob_text}||{self.q.prob_text}]"

    def _symbolic(self) -> Any:
        return symbol(self._text(), f"D_{{JS}}^{{Adv}}\\left[{self._pair_latex()}\\right]")


class AdversarialKullbackLeibler(_Classifier):
    """The Kullback-Leibler divergence :math:`D_{KL}[p\\|q]` estimated with a density ratio.

    The optimal classifier gives the density ratio,
    :math:`d^*/(1 - d^*) = p/q`, so

    .. math::

        D_{KL}[p\\|q] = \\mathbb{E}_{p(x)}\\left[\\log \\frac{p(x)}{q(x)}\\right]
        \\approx \\mathbb{E}_{p(x)}\\left[\\log \\frac{d(x)}{1 - d(x)}\\right]

    (Sugiyama et al., 2012; used by Kim and Mnih, 2018, for FactorVAE). The
    term is :math:`\\log d(x_p) - \\log(1 - d(x_p))` for each sample of ``p``;
    only ``p`` is sampled when it is evaluated. It is minimised over ``p``.
    The value can be negative while the discriminator is far from optimal.

    Args:
        p: the distribution the expectation is over.
        q: the reference distribution.
        discriminator: ``d(t|x)``, ending in a sigmoid.
        optimizer: the discriminator's optimizer class.
        optimizer_params: its keyword arguments.
    """

    needs_q = False

    def _generator_value(self, y_p: torch.Tensor, y_q: torch.Tensor | None) -> torch.Tensor:
        return _bce(self, y_p, 0) - _bce(self, y_p, 1)  # log d - log(1 - d)

    def _text(self) -> str:
        return f"D_KL^Adv[{self.p.prob_text}||{self.q.prob_text}]"

    def _symbolic(self) -> Any:
        return symbol(self._text(), f"D_{{KL}}^{{Adv}}\\left[{self._pair_latex()}\\right]")


class DensityRatio(_Classifier):
    """The log density ratio :math:`\\log p(x)/q(x)` at the given ``x``, estimated by a classifier.

    The discriminator is trained between samples of ``p`` and ``q`` (with
    :meth:`train`); as a loss term, the value at the variables given in
    ``x_dict`` is :math:`\\log d(x) - \\log(1 - d(x))`. It is the building block
    of density-ratio losses: ``DensityRatio(p, q, d).expectation(p)`` is
    :class:`AdversarialKullbackLeibler`, and other f-divergences are
    expectations of functions of it.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> from dgmcore.distributions import Deterministic
        >>> from dgmcore_families import Normal
        >>> from dgmcore_adversarial import DensityRatio
        >>> class Classifier(Deterministic):
        ...     def __init__(self):
        ...         super().__init__(var=["t"], cond_var=["x"], name="d")
        ...         self.net = nn.Sequential(nn.Linear(1, 1), nn.Sigmoid())
        ...     def forward(self, x):
        ...         return {"t": self.net(x)}
        >>> p = Normal(loc="m", scale=1.0, var=["x"], cond_var=["m"], name="p")
        >>> q = Normal(loc=0.0, scale=1.0, var=["x"], features_shape=[1], name="q")
        >>> ratio = DensityRatio(p, q, Classifier(), optimizer_params={"lr": 0.05})
        >>> str(ratio), ratio.input_var
        ('log p(x|m)/q(x)', ['x'])
        >>> data = {"m": torch.ones(256, 1)}
        >>> for _ in range(300):
        ...     _ = ratio.train(data)
        >>> # log N(x; 1, 1) / N(x; 0, 1) = x - 1/2
        >>> est = ratio.eval({"x": torch.tensor([[0.0], [1.0]])})
        >>> torch.allclose(est, torch.tensor([-0.5, 0.5]), atol=0.2)
        True
    """

    def __init__(
        self,
        p: Distribution,
        q: Distribution,
        discriminator: Distribution,
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(p, q, discriminator, optimizer, optimizer_params)
        self._observed = tuple(discriminator.cond_var)

    def _term_inputs(self) -> list[str]:
        return list(self.d.cond_var)  # evaluated at given values: nothing is drawn

    def _eval(self, x: XDict, samples: XDict | None) -> torch.Tensor:
        with frozen(self._d_params):
            y = self._discriminate({v: x[v] for v in self._observed})
            return self._generator_value(y, None)

    def _generator_value(self, y_p: torch.Tensor, y_q: torch.Tensor | None) -> torch.Tensor:
        return _bce(self, y_p, 0) - _bce(self, y_p, 1)

    def _text(self) -> str:
        return f"log {self.p.prob_text}/{self.q.prob_text}"

    def _symbolic(self) -> Any:
        return symbol(self._text(), f"\\log \\frac{{{short_latex(self.p)}}}{{{short_latex(self.q)}}}")
