"""Losses: objectives written as arithmetic of terms, as in the paper.

The VAE objective of equation (7) is written::

    loss = (KullbackLeibler(q, prior) - p.log_prob().expectation(q)).mean()

Plugins add more losses (``IterativeLoss``, adversarial divergences...), found
lazily in this namespace.
"""

from __future__ import annotations

from dgmcore import plugins as _plugins
from dgmcore.losses.arithmetic import MaxLoss, MinLoss
from dgmcore.losses.base import Loss, unsigned
from dgmcore.losses.bounds import ELBO, IWELBO, log_marginal
from dgmcore.losses.divergences import CrossEntropy, Entropy, KullbackLeibler
from dgmcore.losses.expectation import Expectation
from dgmcore.losses.terms import LogProb, Prob
from dgmcore.losses.values import ConstantVar, Parameter, ValueLoss

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
