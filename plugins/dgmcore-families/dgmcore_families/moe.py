"""Mixtures of experts: :class:`MixtureOfExperts`, :class:`MixtureOfNormal`.

.. math:: p(z \\mid x, y) = \\sum_m w_m\\, q(z \\mid x_m)

Each expert conditions on its own modality, as in the MMVAE of Shi et al.,
"Variational Mixture-of-Experts Autoencoders for Multi-Modal Deep Generative
Models" (NeurIPS 2019). The log-density is the exact mixture density
:math:`\\operatorname{logsumexp}_m [\\log w_m + \\log q_m(z)]` (Pixyz weighted the
experts' log-densities instead, which is not a density).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError
from dgmcore_families.mixture import MixtureModel
from dgmcore_families.normal import Normal

__all__ = ["MixtureOfExperts", "MixtureOfNormal"]


class MixtureOfExperts(MixtureModel):
    """A mixture with fixed weights of experts of the same variable, each with its own inputs.

    Args:
        p: the experts (dgmcore distributions of the same variable).
        weight_modalities: the weights :math:`w_m` (default uniform), normalised.
        name: the name in formulas.
        features_shape: the shape of one sample (taken from the experts if not given).

    Reparameterised samples are available when every expert has them: the
    weights are fixed, so choosing an expert per sample carries no gradient to lose.

    Example:
        >>> import torch
        >>> from dgmcore_families import MixtureOfExperts, Normal
        >>> q_x = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> q_y = Normal(loc="y", scale=1.0, var=["z"], cond_var=["y"], name="q")
        >>> moe = MixtureOfExperts([q_x, q_y])
        >>> moe.prob_text
        'p(z|x,y)'
        >>> data = {"x": torch.zeros(4, 2), "y": torch.ones(4, 2)}
        >>> moe.sample(data, reparam=True)["z"].shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        p: Distribution | Sequence[Distribution],
        weight_modalities: Sequence[float] | torch.Tensor | None = None,
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
    ) -> None:
        experts = [p] if isinstance(p, Distribution) else list(p)
        if weight_modalities is None:
            weight_modalities = [1.0] * len(experts)
        super().__init__(experts, weight_modalities, name=name, features_shape=features_shape, hidden_var="m")

    @property
    def prob_factorized_text(self) -> str:
        w = self.log_weights.exp()
        return " + ".join(f"{float(w[i]):.3g} {d.prob_text}" for i, d in enumerate(self._components))


class MixtureOfNormal(MixtureOfExperts):
    """A :class:`MixtureOfExperts` whose experts are :class:`~dgmcore_families.Normal` (Pixyz's name).

    Raises:
        InputTypeError: an expert is not a Normal.

    Example:
        >>> import torch
        >>> from dgmcore_families import MixtureOfNormal, Normal
        >>> q_x = Normal(loc="x", scale=1.0, var=["z"], cond_var=["x"], name="q")
        >>> q_y = Normal(loc="y", scale=1.0, var=["z"], cond_var=["y"], name="q")
        >>> moe = MixtureOfNormal([q_x, q_y], weight_modalities=[0.5, 0.5])
        >>> data = {"x": -torch.ones(1, 1), "y": torch.ones(1, 1), "z": torch.zeros(1, 1)}
        >>> moe.get_log_prob(data)  # both experts give log N(0 | ±1, 1)
        tensor([-1.4189])
        >>> moe.sample_mean(data), moe.sample_variance(data)
        (tensor([[0.]]), tensor([[2.]]))
    """

    def __init__(
        self,
        p: Distribution | Sequence[Distribution],
        weight_modalities: Sequence[float] | torch.Tensor | None = None,
        name: str = "p",
        features_shape: Sequence[int] | torch.Size = (),
    ) -> None:
        experts = [p] if isinstance(p, Distribution) else list(p)
        bad = [getattr(e, "prob_text", repr(e)) for e in experts if not isinstance(e, Normal)]
        if bad:
            raise InputTypeError(f"MixtureOfNormal: every expert must be a Normal, got {bad}")
        super().__init__(experts, weight_modalities, name=name, features_shape=features_shape)


# -- analytic KL pairs and entropies -------------------------------------------------------
# A mixture of experts has no closed-form KL or entropy: use the Monte-Carlo estimates.
KL_PAIRS: list[tuple[type, type, Callable[[Any, Any], torch.Tensor]]] = []
ENTROPIES: list[tuple[type, Callable[[Any], torch.Tensor]]] = []
