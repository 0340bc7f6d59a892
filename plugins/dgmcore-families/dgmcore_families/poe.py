"""Products of Gaussian experts: :class:`ProductOfNormal`, :class:`ElementWiseProductOfNormal`.

The product of Gaussian densities is Gaussian: with precisions
:math:`T_i = \\sigma_i^{-2}`, :math:`\\prod_i \\mathcal{N}(z \\mid \\mu_i, \\sigma_i^2) \\propto
\\mathcal{N}(z \\mid \\mu, \\sigma^2)` with :math:`\\sigma^{-2} = \\sum_i T_i` and
:math:`\\mu = \\sigma^2 \\sum_i T_i \\mu_i` (Wu & Goodman, "Multimodal Generative
Models for Scalable Weakly-Supervised Learning", NeurIPS 2018). The result is a
Normal that can be sampled (reparameterised), scored, and used in analytic KL
terms like any :class:`~dgmcore_families.Normal`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from dgmcore.distributions import Distribution
from dgmcore.errors import DGMError, InputTypeError, ShapeError
from dgmcore_families.gaussian_base import GaussianComposite
from dgmcore_families.normal import Normal

__all__ = ["ProductOfNormal", "ElementWiseProductOfNormal"]


def _product(
    loc: torch.Tensor, prec: torch.Tensor, prior: tuple[torch.Tensor, torch.Tensor] | None
) -> dict[str, torch.Tensor]:
    """Combine experts stacked on the last dimension (precision 0 = absent expert)."""
    total = prec.sum(-1)
    weighted = (prec * loc).sum(-1)
    if prior is not None:
        prior_loc, prior_prec = prior
        total = total + prior_prec
        weighted = weighted + prior_prec * prior_loc
    return {"loc": weighted / total, "scale": total.rsqrt()}


class ProductOfNormal(GaussianComposite):
    """A product of Gaussian experts, :math:`p(z \\mid x, y) \\propto p(z)\\, p(z \\mid x)\\, p(z \\mid y)`.

    Each expert is a :class:`~dgmcore_families.Normal` of the same variable. An
    expert whose conditioning variables are all missing from ``x_dict`` is left
    out for the whole batch (``p.sample({"x": x})`` uses :math:`p(z)p(z|x)` only);
    when none is present the product is the prior expert alone, sampled with
    ``batch_n``. For experts missing in some samples only, pass a boolean mask of
    shape ``(batch, n_experts)`` in ``x_dict`` under ``mask_var`` (True = present).

    Args:
        p: the experts (a list of Normal distributions generating the same variable).
        name: the name in formulas.
        features_shape: the shape of one sample; taken from the experts or the
            prior when not given.
        prior: the prior expert: True for :math:`\\mathcal{N}(0, I)` (as in Pixyz), a
            :class:`~dgmcore_families.Normal` of the same variable (its parameters
            may be learned), or False for none.
        mask_var: the name of the optional per-sample presence mask in ``x_dict``.

    Raises:
        InputTypeError: an expert is not a Normal or generates another variable.

    Example:
        >>> import torch
        >>> from dgmcore_families import Normal, ProductOfNormal
        >>> q_x = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> q_y = Normal(loc="y", scale=1.0, var=["z"], cond_var=["y"], name="q")
        >>> poe = ProductOfNormal([q_x, q_y], features_shape=[2])
        >>> poe.prob_text
        'p(z|x,y)'
        >>> ones = torch.ones(3, 2)
        >>> poe.get_params({"x": ones, "y": ones})["loc"][0]  # (0 + 1 + 1) / 3
        tensor([0.6667, 0.6667])
        >>> poe.get_params({"x": ones})["loc"][0]  # y missing: (0 + 1) / 2
        tensor([0.5000, 0.5000])
        >>> poe.sample(batch_n=5)["z"].shape  # no expert: the prior
        torch.Size([5, 2])
    """

    _one: torch.Tensor  # a buffer

    def __init__(
        self,
        p: Distribution | Sequence[Distribution],
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
        prior: bool | Distribution = True,
        mask_var: str | None = None,
    ) -> None:
        experts = [p] if isinstance(p, Distribution) else list(p)
        if not experts:
            raise InputTypeError("ProductOfNormal needs at least one expert")
        var = experts[0].var
        cond: list[str] = []
        for e in experts:
            if not isinstance(e, Normal) or e.var != var:
                raise InputTypeError(
                    f"ProductOfNormal: every expert must be a Normal of {var}, got "
                    f"{getattr(e, 'prob_text', e)!r} ({type(e).__name__})"
                )
            cond += [v for v in e.cond_var if v not in cond]
        if isinstance(prior, Distribution):
            if not isinstance(prior, Normal) or prior.var != var:
                raise InputTypeError(f"ProductOfNormal: the prior must be a Normal of {var}, got {prior!r}")
            cond += [v for v in prior.cond_var if v not in cond]
        shapes = [d.features_shape for d in [*experts, prior] if isinstance(d, Distribution)]
        fs = torch.Size(features_shape) or next((s for s in shapes if s), torch.Size())
        super().__init__(var, cond, name, fs)
        self.experts = nn.ModuleList(experts)  # registers the experts as submodules
        # the same modules, typed (a ModuleList yields plain Modules); fixed, like the variables
        self._experts: tuple[Distribution, ...] = tuple(experts)
        self.prior = prior if isinstance(prior, Distribution) else None
        self._unit_prior = prior is True
        self.mask_var = mask_var
        # N(0, 1): scalars that follow .to(device) and stay out of the state_dict
        self.register_buffer("_one", torch.ones(()), persistent=False)

    # -- the experts --------------------------------------------------------------------
    def _expert_params(self, x_dict: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Locations and precisions of the present experts, stacked last; None if none."""
        present = [i for i, e in enumerate(self._experts) if all(v in x_dict for v in e.cond_var)]
        if not present:
            return None
        params = [self._experts[i].get_params(x_dict) for i in present]
        locs = torch.broadcast_tensors(*[q["loc"] for q in params], *[q["scale"] for q in params])
        n = len(params)
        features = self.features_of(locs[0])
        loc, prec = torch.stack(locs[:n], -1), torch.stack(locs[n:], -1).pow(-2)
        mask = x_dict.get(self.mask_var) if self.mask_var else None
        if mask is not None:
            if mask.dim() != 2 or mask.shape[1] != len(self._experts):
                raise ShapeError(
                    f"{self.prob_text}: mask {self.mask_var!r} must have shape (batch, "
                    f"{len(self._experts)}), got {tuple(mask.shape)}"
                )
            m = mask[:, present].bool()
            m = m.reshape(m.shape[0], *[1] * len(features), n)
            loc = torch.where(m, loc, torch.zeros((), dtype=loc.dtype))
            prec = torch.where(m, prec, torch.zeros((), dtype=prec.dtype))
        return loc, prec

    def _prior_params(self, x_dict: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Location and precision of the prior expert; None if there is none."""
        if self.prior is not None:
            q = self.prior.get_params(x_dict)
            return q["loc"], q["scale"].pow(-2)
        if self._unit_prior:
            one = self._one.expand(self.features_shape)  # broadcasts against the experts
            return torch.zeros_like(one), one
        return None

    def get_params(self, x_dict: dict[str, Any] | None = None) -> dict[str, torch.Tensor]:
        """``loc`` and ``scale`` of the product, from the experts present in ``x_dict``."""
        x_dict = self._check(x_dict)
        experts = self._expert_params(x_dict)
        prior = self._prior_params(x_dict)
        if experts is None:
            if prior is None:
                raise DGMError(
                    f"{self.prob_text}: no expert is present in x_dict (it has {sorted(x_dict)}) "
                    "and there is no prior expert; give the inputs of at least one expert"
                )
            prior_loc, prior_prec = prior
            self.require_features()  # no input fixes a batch: the features must be known
            return {"loc": prior_loc, "scale": prior_prec.rsqrt()}
        loc, prec = experts
        if prior is not None:
            prior = prior[0].to(loc), prior[1].to(prec)
        return _product(loc, prec, prior)


class ElementWiseProductOfNormal(ProductOfNormal):
    """A product of experts where each element of one input is an expert.

    .. math:: p(z \\mid x) \\propto p(z) \\prod_{i : x_i \\neq 0} p(z \\mid x_i \\mathbf{e}_i)

    ``p`` is one Normal conditioned on a single variable ``x`` of shape
    ``(batch, n)``; expert ``i`` is ``p`` applied to ``x`` with every element but
    the ``i``-th set to 0, and an element equal to 0 means that expert is absent
    (Pixyz's convention, e.g. for attribute vectors). All ``n`` experts are
    evaluated in one batched call of ``p``.

    Args:
        p: the Normal conditioned on exactly one variable.
        name, features_shape, prior: as for :class:`ProductOfNormal`.

    Example:
        >>> import torch
        >>> from dgmcore_families import ElementWiseProductOfNormal, Normal
        >>> class Expert(Normal):
        ...     def __init__(self):
        ...         super().__init__(var=["z"], cond_var=["a"], features_shape=[2])
        ...     def forward(self, a):
        ...         return {"loc": a.sum(-1, keepdim=True).expand(*a.shape[:-1], 2),
        ...                 "scale": torch.ones(*a.shape[:-1], 2)}
        >>> poe = ElementWiseProductOfNormal(Expert())
        >>> poe.get_params({"a": torch.tensor([[2.0, 0.0, 4.0]])})["loc"]  # (0 + 2 + 4) / 3
        tensor([[2., 2.]])
    """

    def __init__(
        self,
        p: Distribution,
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
        prior: bool | Distribution = True,
    ) -> None:
        if not isinstance(p, Normal) or len(p.cond_var) != 1:
            raise InputTypeError(
                f"ElementWiseProductOfNormal needs a Normal conditioned on exactly one variable, got "
                f"{getattr(p, 'prob_text', p)!r}"
            )
        super().__init__([p], name=name, features_shape=features_shape, prior=prior)

    def _expert_params(self, x_dict: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
        (p,) = self._experts
        (v,) = p.cond_var
        if v not in x_dict:
            return None
        x = x_dict[v]
        n = x.shape[-1]
        eye = torch.eye(n, dtype=x.dtype, device=x.device).reshape(n, *[1] * (x.dim() - 1), n)
        q = p.get_params({v: x.unsqueeze(0) * eye})  # (n, *x.shape[:-1], *features)
        loc, scale = torch.broadcast_tensors(q["loc"], q["scale"])
        loc, prec = loc.movedim(0, -1), scale.pow(-2).movedim(0, -1)
        present = (x != 0).reshape(*x.shape[:-1], *[1] * (loc.dim() - x.dim()), n)
        zero = torch.zeros((), dtype=loc.dtype)
        return torch.where(present, loc, zero), torch.where(present, prec, zero)


# -- analytic KL pairs and entropies -------------------------------------------------------
# The product is a torch Normal (get_dist), so every Normal pair of torch.distributions.kl
# applies to it, and its entropy is the Normal's: nothing to register.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
