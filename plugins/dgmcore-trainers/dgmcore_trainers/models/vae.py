""":class:`VAE`: an encoder, a decoder and the regularizer of the objective."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dgmcore.distributions import Distribution
from dgmcore.errors import InputTypeError
from dgmcore.losses import Loss
from dgmcore.models import Model
from dgmcore_trainers.models.common import check_distribution, distribution_list

__all__ = ["VAE"]


class VAE(Model):
    """Variational autoencoder (Kingma and Welling, 2014), with Pixyz's meaning.

    The loss is the expected reconstruction error under the encoder plus the
    ``regularizer`` (usually the KL divergence from the encoder to the prior),
    averaged over the batch:

    .. math::

        \\mathcal{L} = \\mathbb{E}_{p_{data}(x)}\\Big[
            -\\mathbb{E}_{q(z|x)}[\\log p(x|z)] + R \\Big]

    With ``regularizer=None`` the loss is the reconstruction term alone (a
    plain stochastic autoencoder); it prints and trains like any other.

    Args:
        encoder: :math:`q(z|x)`.
        decoder: :math:`p(x|z)`.
        other_distributions: more distributions whose parameters are trained
            (a learned prior, say).
        regularizer: a :class:`~dgmcore.losses.Loss` (or a number) added to the
            reconstruction term, one value per batch element or a scalar.
        **kwargs: the keyword arguments of :class:`dgmcore.models.Model`
            (``optimizer``, ``optimizer_params``, ``clip_grad_norm``...).

    Raises:
        InputTypeError: an argument is not a distribution / loss.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Bernoulli, Normal
        >>> from dgmcore.losses import KullbackLeibler
        >>> from dgmcore_trainers import VAE
        >>> class Q(Normal):
        ...     def __init__(self):
        ...         super().__init__(var=["z"], cond_var=["x"], name="q")
        ...         self.net = torch.nn.Linear(4, 4)
        ...     def forward(self, x):
        ...         loc, scale = self.net(x).chunk(2, dim=-1)
        ...         return {"loc": loc, "scale": torch.nn.functional.softplus(scale)}
        >>> class P(Bernoulli):
        ...     def __init__(self):
        ...         super().__init__(var=["x"], cond_var=["z"], name="p")
        ...         self.net = torch.nn.Linear(2, 4)
        ...     def forward(self, z):
        ...         return {"logits": self.net(z)}
        >>> q, p = Q(), P()
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_{prior}")
        >>> model = VAE(q, p, regularizer=KullbackLeibler(q, prior))
        >>> print(model.loss_cls)
        mean(KL[q(z|x)||p_{prior}(z)] - E_{q(z|x)}[log p(x|z)])
        >>> loss = model.train({"x": torch.rand(8, 4).round()})
        >>> print(VAE(q, p).loss_cls)
        mean(-E_{q(z|x)}[log p(x|z)])
    """

    def __init__(
        self,
        encoder: Distribution,
        decoder: Distribution,
        other_distributions: Distribution | Sequence[Distribution] = (),
        regularizer: Loss | float | None = None,
        **kwargs: Any,
    ) -> None:
        check_distribution("VAE", "encoder", encoder)
        check_distribution("VAE", "decoder", decoder)
        if regularizer is not None and not isinstance(regularizer, (Loss, int, float)):
            raise InputTypeError(
                f"VAE: regularizer must be a dgmcore Loss, a number or None, "
                f"got {type(regularizer).__name__}"
            )
        log_likelihood = decoder.log_prob().expectation(encoder)
        objective = -log_likelihood if regularizer is None else regularizer - log_likelihood
        loss = objective.mean()
        self.encoder, self.decoder, self.regularizer = encoder, decoder, regularizer
        dists = distribution_list("VAE", [encoder, decoder], other_distributions)
        super().__init__(loss, distributions=dists, **kwargs)
