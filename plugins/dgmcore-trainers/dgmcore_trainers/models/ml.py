""":class:`ML`: maximum likelihood."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dgmcore.distributions import Distribution
from dgmcore.models import Model
from dgmcore_trainers.models.common import check_distribution, distribution_list

__all__ = ["ML"]


class ML(Model):
    """Maximum likelihood: minimise the negative log-likelihood of the data.

    .. math::

        \\mathcal{L} = -\\mathbb{E}_{p_{data}(x, y)}[\\log p(y|x)]

    ``p`` may be conditional (a classifier :math:`p(y|x)`) or not (a density
    :math:`p(x)`); the batch gives every variable it reads.

    Args:
        p: the distribution to fit.
        other_distributions: more distributions whose parameters are trained.
        **kwargs: the keyword arguments of :class:`dgmcore.models.Model`.

    Example:
        >>> import torch
        >>> from dgmcore.distributions import Normal
        >>> from dgmcore_trainers import ML
        >>> p = Normal(loc=torch.nn.Parameter(torch.zeros(2)), scale=1.0, var=["x"])
        >>> model = ML(p, optimizer_params={"lr": 0.1})
        >>> print(model.loss_cls)
        mean(-log p(x))
        >>> for _ in range(100):
        ...     _ = model.train({"x": torch.full((16, 2), 3.0)})
        >>> p.loc.detach().round()
        tensor([3., 3.])
    """

    def __init__(
        self,
        p: Distribution,
        other_distributions: Distribution | Sequence[Distribution] = (),
        **kwargs: Any,
    ) -> None:
        check_distribution("ML", "p", p)
        self.p = p
        self.nll = -p.log_prob()
        dists = distribution_list("ML", [p], other_distributions)
        super().__init__(self.nll.mean(), distributions=dists, **kwargs)
