"""Losses: objectives written as arithmetic of terms, as in the paper.

The VAE objective of equation (7) is written::

    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()

Plugins add more losses (``IterativeLoss``, adversarial divergences...), found
lazily in this namespace.
"""

from __future__ import annotations

from dgmcore import plugins as _plugins
from dgmcore.losses._arithmetic import MaxLoss, MinLoss
from dgmcore.losses._base import Loss, unsigned
from dgmcore.losses._bounds import ELBO, IWELBO, log_marginal
from dgmcore.losses._divergences import CrossEntropy, Entropy, KullbackLeibler
from dgmcore.losses._expectation import Expectation
from dgmcore.losses._terms import LogProb, Prob
from dgmcore.losses._values import ConstantVar, Parameter, ValueLoss

__all__ = [
    "ELBO",
    "IWELBO",
    "ConstantVar",
    "CrossEntropy",
    "Entropy",
    "Expectation",
    "KullbackLeibler",
    "LogProb",
    "Loss",
    "MaxLoss",
    "MinLoss",
    "Parameter",
    "Prob",
    "ValueLoss",
    "log_marginal",
    "unsigned",
]

__getattr__, __dir__, get = _plugins.namespace("losses", globals())
