"""Finite mixtures: :class:`MixtureModel` and its posterior over components, :class:`PosteriorMixtureModel`.

.. math:: p(x) = \\sum_{k=1}^K \\pi_k\\, p_k(x), \\qquad
          \\log p(x) = \\operatorname{logsumexp}_k \\left[\\log \\pi_k + \\log p_k(x)\\right]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from dgmcore.distributions import Distribution, XDict, check_x_dict
from dgmcore.errors import InputTypeError, NoDensityError, ShapeError
from dgmcore_families.categorical import Categorical, OneHotCategorical

__all__ = ["MixtureModel", "PosteriorMixtureModel"]



class MixtureModel(Distribution):
    """A mixture :math:`p(x) = \\sum_k \\pi_k p_k(x)` of distributions of the same variable.

    The log-density is exact: :math:`\\operatorname{logsumexp}_k [\\log \\pi_k + \\log p_k(x)]`.
    Sampling draws a component per sample and batch element, then its value.
    The components may be any dgmcore distributions of one variable (different
    families, each with its own conditioning variables).

    Args:
        distributions: the components :math:`p_k`.
        prior: the weights :math:`\\pi`: a :class:`~dgmcore_families.Categorical` or
            :class:`~dgmcore_families.OneHotCategorical` distribution over the
            component index (as in Pixyz; it may be learned or conditional), or fixed
            weights as a sequence or tensor of K non-negative numbers (normalised).
        name: the name in formulas.
        features_shape: the shape of one sample (taken from the components if not given).
        hidden_var: the name of the component index when ``prior`` is weights.

    Reparameterised samples are offered only with fixed weights (a component
    choice carries no gradient); with a learned prior, optimise the exact
    log-density or use score-function gradients.

    Example:
        >>> import torch
        >>> from dgmcore_families import MixtureModel, Normal
        >>> comps = [Normal(loc=m, scale=1.0, var=["x"], name=f"p_{i}") for i, m in enumerate([-2.0, 2.0])]
        >>> p = MixtureModel(comps, prior=[0.3, 0.7])
        >>> p.prob_factorized_text
        'pi(k=0)p_0(x) + pi(k=1)p_1(x)'
        >>> x = {"x": torch.tensor([0.0])}
        >>> ref = torch.log(0.3 * comps[0].get_log_prob(x).exp() + 0.7 * comps[1].get_log_prob(x).exp())
        >>> torch.allclose(p.get_log_prob(x), ref)
        True
        >>> p.posterior().get_dist(x).probs  # p(k | x=0): the weights
        tensor([[0.3000, 0.7000]])
    """

    log_weights: torch.Tensor  # a buffer, with fixed weights only

    def __init__(
        self,
        distributions: Sequence[Distribution],
        prior: Distribution | Sequence[float] | torch.Tensor,
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
        hidden_var: str = "k",
    ) -> None:
        comps = list(distributions)
        if not comps or not all(isinstance(d, Distribution) for d in comps):
            raise InputTypeError("MixtureModel needs a non-empty list of dgmcore distributions")
        var = comps[0].var
        bad = [d.prob_text for d in comps if d.var != var or len(d.var) != 1]
        if bad:
            raise InputTypeError(f"MixtureModel: every component must generate {var} only, got {bad}")
        cond: list[str] = []
        for d in comps:
            cond += [v for v in d.cond_var if v not in cond]
        k = len(comps)
        if isinstance(prior, Distribution):
            if not isinstance(prior, (Categorical, OneHotCategorical)):
                raise InputTypeError(
                    "MixtureModel: the prior must be a Categorical or OneHotCategorical, got "
                    f"{prior.prob_text} ({prior.distribution_name})"
                )
            cond += [v for v in prior.cond_var if v not in cond and v not in var]
            hidden_var = prior.var[0]
        fs = torch.Size(features_shape) or next((d.features_shape for d in comps if d.features_shape), ())
        super().__init__(var, cond, name, fs)
        self.components = nn.ModuleList(comps)  # registers the components as submodules
        # the same modules, typed (a ModuleList yields plain Modules); fixed, like the variables
        self._components: tuple[Distribution, ...] = tuple(comps)
        self.hidden_var = hidden_var
        if isinstance(prior, (Categorical, OneHotCategorical)):  # any other Distribution was refused
            self.prior: Categorical | OneHotCategorical | None = prior
            if not prior.cond_var:
                self._check_k(prior.get_dist().logits, k)
        else:
            self.prior = None
            try:
                w = torch.as_tensor(prior, dtype=torch.get_default_dtype()).detach()
            except (TypeError, ValueError, RuntimeError):
                raise InputTypeError(
                    f"MixtureModel: prior must be a distribution or K weights, got {prior!r}"
                ) from None
            if w.dim() != 1 or bool((w < 0).any()) or not bool(w.sum() > 0):
                raise InputTypeError(f"MixtureModel: weights must be K >= 0 numbers, not all 0; got {w}")
            self._check_k(w, k)
            self.register_buffer("log_weights", (w / w.sum()).log())

    def _check_k(self, logits: torch.Tensor, k: int) -> None:
        if logits.shape[-1] != k:
            raise ShapeError(
                f"{self.prob_text}: the prior has {logits.shape[-1]} categories for {k} components"
            )

    @property
    def prob_factorized_text(self) -> str:
        prior = self.prior.name if self.prior is not None else "pi"
        return " + ".join(
            f"{prior}({self.hidden_var}={i}){d.prob_text}" for i, d in enumerate(self._components)
        )

    @property
    def has_reparam(self) -> bool:
        return self.prior is None and all(d.has_reparam for d in self._components)

    # -- weights and the joint over components ---------------------------------------------
    def log_weights_given(self, x_dict: XDict | None = None) -> torch.Tensor:
        """:math:`\\log \\pi_k`, components on the last dimension."""
        if self.prior is None:
            return self.log_weights
        logits = self.prior.get_dist(check_x_dict(x_dict, self)).logits
        self._check_k(logits, len(self._components))
        return logits

    def get_log_prob(
        self,
        x_dict: XDict,
        sum_features: bool = True,
        feature_dims: Sequence[int] | None = None,
        return_hidden: bool = False,
    ) -> torch.Tensor:
        """:math:`\\log p(x)`, one value per sample (``return_hidden``: :math:`\\log p(x, k)`, K last).

        A mixture's density does not factorise over features: the features are
        summed inside each component, and the result has none left to sum.
        """
        if return_hidden:
            return self._log_joint(check_x_dict(x_dict, self))
        return super().get_log_prob(x_dict, sum_features, feature_dims)

    def _log_joint(self, x_dict: XDict) -> torch.Tensor:
        lps = torch.broadcast_tensors(*[d.get_log_prob(x_dict) for d in self._components])
        return torch.stack(lps, -1) + self.log_weights_given(x_dict)

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        return torch.logsumexp(self._log_joint(x_dict), -1), 0

    def posterior(self, name: str | None = None) -> PosteriorMixtureModel:
        """The distribution of the component given the value, :math:`p(k \\mid x)`."""
        return PosteriorMixtureModel(self, name=name)

    # -- sampling and moments ------------------------------------------------------------------
    def sample(
        self,
        x_dict: XDict | None = None,
        batch_n: int | None = None,
        sample_shape: Sequence[int] | torch.Size = (),
        return_all: bool = True,
        reparam: bool = False,
        return_hidden: bool = False,
    ) -> XDict:
        """Draw samples (see :meth:`Distribution.sample`); ``return_hidden`` adds the component index."""
        given = check_x_dict(x_dict, self)
        out = super().sample(given, batch_n, sample_shape, return_all, reparam)
        if not return_hidden:
            k = self.hidden_var
            if return_all and k in given:
                out[k] = given[k]  # the caller's own entry
            else:
                del out[k]
        return out

    def _draw(
        self, x_dict: XDict, batch_n: int | None, shape: torch.Size, reparam: bool
    ) -> XDict:
        (v,) = self.var
        draws = [d.sample(x_dict, batch_n, shape, False, reparam)[v] for d in self._components]
        values = torch.stack(torch.broadcast_tensors(*draws))  # (K, *sample, batch, *features)
        lead = shape + values.shape[1 + len(shape) : 2 + len(shape)]  # sample + batch dims
        if self.prior is None:
            index = torch.distributions.Categorical(logits=self.log_weights).sample(lead)
        else:
            hidden = self.prior.sample(x_dict, values.shape[1 + len(shape)], shape, False)[self.hidden_var]
            index = hidden.argmax(-1) if isinstance(self.prior, OneHotCategorical) else hidden
            index = index.expand(lead)
        gather = index.reshape(1, *index.shape, *[1] * (values.dim() - 1 - index.dim()))
        value = values.gather(0, gather.expand(1, *values.shape[1:]))[0]
        return {self.var[0]: value, self.hidden_var: index}

    def _weights_for(self, x_dict: XDict, moment: torch.Tensor) -> torch.Tensor:
        w = self.log_weights_given(x_dict).exp()  # (*batch, K); moment: (*batch?, *features, K)
        n_feat = len(self.features_shape) if self.features_shape else max(moment.dim() - w.dim(), 0)
        return w.reshape(*w.shape[:-1], *[1] * n_feat, w.shape[-1])

    def _mean(self, x_dict: XDict) -> torch.Tensor:
        """:math:`\\sum_k \\pi_k \\mu_k`."""
        means = torch.stack(torch.broadcast_tensors(*[d.sample_mean(x_dict) for d in self._components]), -1)
        return (self._weights_for(x_dict, means) * means).sum(-1)

    def _variance(self, x_dict: XDict) -> torch.Tensor:
        """:math:`\\sum_k \\pi_k (\\sigma_k^2 + \\mu_k^2) - \\mu^2` (law of total variance)."""
        means = [d.sample_mean(x_dict) for d in self._components]
        variances = [d.sample_variance(x_dict) for d in self._components]
        both = torch.broadcast_tensors(*means, *variances)
        mu, var = torch.stack(both[: len(means)], -1), torch.stack(both[len(means) :], -1)
        w = self._weights_for(x_dict, mu)
        mean = (w * mu).sum(-1)
        return (w * (var + mu**2)).sum(-1) - mean**2

    def _entropy(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        raise NoDensityError(
            f"{self.prob_text} ({self.distribution_name}) has no closed-form entropy; use "
            "Entropy(p, analytical=False) for the Monte-Carlo estimate"
        )


class PosteriorMixtureModel(Categorical):
    """:math:`p(k \\mid x) = \\pi_k p_k(x) / \\sum_j \\pi_j p_j(x)`: which component generated ``x``.

    A :class:`~dgmcore_families.Categorical` over the component index (integer
    labels; one-hot values are scored too) whose logits are the mixture's
    :math:`\\log p(x, k)`. Made by :meth:`MixtureModel.posterior`.

    Its density is read two ways, by whether ``x_dict`` holds the index:

    * given the index :math:`k_n` of each batch element (its ``var``, e.g.
      drawn by a loss), :math:`\\log p(k_n \\mid x_n)`: one value per
      batch element, shape ``(N,)``, as for any Categorical;
    * without it, the table :math:`\\log p(k \\mid x_n)` of every
      component, **components first**: shape ``(K, N)`` (``(K, *sample, N)``
      under sample dims). This is what Pixyz's posterior gives, and what an
      EM step reads: ``post.prob().eval({"x": x})`` are the responsibilities,
      and ``.sum(dim=1)`` the soft counts :math:`N_k`.

    The table passes through ``log_prob()`` / ``prob()``, numbers, unary
    operators and ``.mean()`` / ``.sum()`` (over the whole table, as in Pixyz),
    and combines with other ``(K, N)`` tables; the loss arithmetic refuses to
    broadcast it against a per-batch ``(N,)`` term (a
    :class:`~dgmcore.errors.ShapeError`), as it refuses every result that is
    neither side's shape. Pixyz's posterior has no ``var`` of its own and
    returns the table even when the index is given; here a given index is
    scored.

    Example:
        >>> import torch
        >>> from dgmcore_families import MixtureModel, Normal
        >>> comps = [Normal(loc=m, scale=1.0, var=["x"]) for m in (-1.0, 1.0)]
        >>> post = MixtureModel(comps, prior=[0.5, 0.5]).posterior()
        >>> post.prob_text
        'p(k|x)'
        >>> x = {"x": torch.tensor([0.0, 1.0])}
        >>> post.get_dist(x).probs  # p(k=1|x=1) = 1 / (1 + e^-2)
        tensor([[0.5000, 0.5000],
                [0.1192, 0.8808]])
        >>> post.prob().eval(x)  # without k: p(k|x_n) for every k, shape (K, N)
        tensor([[0.5000, 0.1192],
                [0.5000, 0.8808]])
        >>> post.prob().eval({**x, "k": torch.tensor([0, 1])})  # with k: p(k_n|x_n)
        tensor([0.5000, 0.8808])
    """

    def __init__(self, p: MixtureModel, name: str | None = None) -> None:
        super().__init__(var=[p.hidden_var], cond_var=[*p.var, *p.cond_var], name=name or p.name)
        self.p = p

    def forward(self, **inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.p.get_log_prob(inputs, return_hidden=True)}

    def _log_density(self, x_dict: XDict) -> tuple[torch.Tensor, int]:
        """:math:`\\log p(k \\mid x)` of the given index, or the ``(K, ...)`` table without it."""
        if self.var[0] in x_dict:
            return super()._log_density(x_dict)
        logits = self.get_dist(x_dict).logits  # (*sample, N, K), normalised by torch
        return logits.movedim(-1, 0), 0


# -- analytic KL pairs and entropies -------------------------------------------------------
# A mixture has no closed-form KL or entropy: use the Monte-Carlo estimates.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
