""":class:`GAN`: a generator trained against a discriminator through an adversarial loss."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from dgmcore.distributions import Distribution, EmpiricalDistribution
from dgmcore.errors import InputTypeError
from dgmcore.models import Model
from dgmcore_trainers.models.common import check_distribution

__all__ = ["GAN"]

#: Where the default divergence comes from, for the error when it is missing.
_DEFAULT = "AdversarialJensenShannon"


def _default_divergence() -> Callable[..., Any]:
    import dgmcore.losses

    # dgmcore.losses names a missing first-party loss with the package to pip install
    return getattr(dgmcore.losses, _DEFAULT)  # type: ignore[no-any-return]


class GAN(Model):
    """Generative adversarial network (Goodfellow et al., 2014), with Pixyz's meaning.

    The loss is an adversarial divergence between the data distribution
    :math:`p_{data}(x)` and the generator :math:`p(x)`, estimated by the
    ``discriminator`` :math:`d(t|x)`; the divergence object owns the
    discriminator and its optimizer (DESIGN.md §4.1). One :meth:`train` call
    is a discriminator step (``divergence.train``) and then a generator step
    (the core ``Model.train`` on the divergence's generator value):

    .. math::

        \\min_p \\max_d \\; \\mathbb{E}_{p_{data}(x)}[\\log d(x)]
            + \\mathbb{E}_{p(x)}[\\log (1 - d(x))]

    Args:
        p: the generator, a distribution over the data variables.
        discriminator: the critic, a distribution whose input is the data
            variables.
        optimizer, optimizer_params: the generator's optimizer.
        d_optimizer, d_optimizer_params: the discriminator's optimizer, given
            to the divergence.
        divergence: a callable ``divergence(p_data, p, discriminator,
            optimizer=..., optimizer_params=...)`` that returns an adversarial
            loss: a :class:`~dgmcore.losses.Loss` whose value is the
            generator's loss (per batch element or a scalar; the model
            trains on its ``.mean()``), with ``loss_train(x_dict)`` (the
            discriminator's loss), ``train(x_dict)`` and ``test(x_dict)``.
            Default: ``dgmcore.losses.AdversarialJensenShannon`` (from
            dgmcore-adversarial).
        **kwargs: the other keyword arguments of :class:`dgmcore.models.Model`.

    Attributes:
        adversarial: the divergence object.
        p_data: the data distribution.

    Raises:
        InputTypeError: ``p`` or ``discriminator`` is not a distribution, or
            the divergence lacks ``loss_train`` / ``train`` / ``test``.
        UnknownNameError: no ``divergence`` and dgmcore-adversarial is not
            installed.
    """

    def __init__(
        self,
        p: Distribution,
        discriminator: Distribution,
        optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_params: Mapping[str, Any] | None = None,
        d_optimizer: type[torch.optim.Optimizer] = torch.optim.Adam,
        d_optimizer_params: Mapping[str, Any] | None = None,
        divergence: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> None:
        check_distribution("GAN", "p", p)
        check_distribution("GAN", "discriminator", discriminator)
        self.p, self.discriminator = p, discriminator
        self.p_data = EmpiricalDistribution(p.var)
        make = divergence if divergence is not None else _default_divergence()
        adversarial = make(self.p_data, p, discriminator, optimizer=d_optimizer,
                           optimizer_params=dict(d_optimizer_params or {}))
        missing = [m for m in ("loss_train", "train", "test") if not callable(getattr(adversarial, m, None))]
        if missing:
            raise InputTypeError(
                f"GAN: the divergence {adversarial} has no {', '.join(missing)}; an adversarial "
                "loss gives the discriminator's loss by loss_train(x_dict) and its step by "
                "train(x_dict) / test(x_dict) (DESIGN.md §4.1)"
            )
        self.adversarial = adversarial
        # the divergence keeps one value per batch element, as every loss does (a scalar is kept)
        super().__init__(adversarial.mean(), distributions=[p], optimizer=optimizer,
                         optimizer_params=optimizer_params, **kwargs)

    def __str__(self) -> str:
        return super().__str__() + f"\nDiscriminator:\n  {self.discriminator.prob_text}"

    def train(  # type: ignore[override]
        self, train_x_dict: Mapping[str, Any] | None = None, adversarial_loss: bool = True, **kwargs: Any
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """A discriminator step, then a generator step.

        Returns:
            ``(generator loss, discriminator loss)``, or the generator loss
            alone with ``adversarial_loss=False`` (no discriminator step).
        """
        d_loss = self.adversarial.train(train_x_dict, **kwargs) if adversarial_loss else None
        loss = super().train(train_x_dict, **kwargs)
        return loss if d_loss is None else (loss, d_loss)

    def test(  # type: ignore[override]
        self, test_x_dict: Mapping[str, Any] | None = None, adversarial_loss: bool = True, **kwargs: Any
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The generator's loss (and the discriminator's), without gradients."""
        loss = super().test(test_x_dict, **kwargs)
        if not adversarial_loss:
            return loss
        return loss, self.adversarial.test(test_x_dict, **kwargs)
