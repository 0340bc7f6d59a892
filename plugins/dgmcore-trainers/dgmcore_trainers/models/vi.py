""":class:`VI`: variational inference by maximising the ELBO."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dgmcore.distributions import Distribution
from dgmcore.losses import ELBO
from dgmcore.models import Model
from dgmcore_trainers.models.common import check_distribution, distribution_list

__all__ = ["VI"]


class VI(Model):
    """Variational inference: fit ``approximate_dist`` and ``p`` by the ELBO.

    .. math::

        \\mathcal{L} = -\\mathbb{E}_{p_{data}(x)}\\Big[
            \\mathbb{E}_{q(z|x)}\\big[\\log \\tfrac{p(x, z)}{q(z|x)}\\big]\\Big]

    Args:
        p: the generative model, a joint :math:`p(x, z)`.
        approximate_dist: the approximate posterior :math:`q(z|x)` (or
            :math:`q(z)` with nothing observed).
        other_distributions: more distributions whose parameters are trained.
        sample_shape: Monte-Carlo samples of the ELBO per batch element.
        **kwargs: the keyword arguments of :class:`dgmcore.models.Model`.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_trainers import VI
        >>> prior = Normal(loc=0.0, scale=1.0, var=["z"])
        >>> lik = Normal(loc="z", scale=1.0, var=["x"], cond_var=["z"])
        >>> q = Normal(loc=torch.nn.Parameter(torch.zeros(1)),
        ...            scale=torch.nn.Parameter(torch.ones(1)), var=["z"], name="q")
        >>> model = VI(lik * prior, q, optimizer_params={"lr": 0.05})
        >>> print(model.loss_cls)
        -mean(E_{q(z)}[log p(x,z) - log q(z)])
    """

    def __init__(
        self,
        p: Distribution,
        approximate_dist: Distribution,
        other_distributions: Distribution | Sequence[Distribution] = (),
        sample_shape: Sequence[int] = (1,),
        **kwargs: Any,
    ) -> None:
        check_distribution("VI", "p", p)
        check_distribution("VI", "approximate_dist", approximate_dist)
        self.p, self.approximate_dist = p, approximate_dist
        self.elbo = ELBO(p, approximate_dist, sample_shape=tuple(sample_shape))
        dists = distribution_list("VI", [p, approximate_dist], other_distributions)
        super().__init__(-self.elbo.mean(), distributions=dists, **kwargs)
