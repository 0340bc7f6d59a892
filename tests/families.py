"""Thin test families shared by the core and loss tests.

Families are plugins, so the tests define their own, exactly as a third-party
plugin would: a ``ParametricDistribution`` subclass naming a
``torch.distributions`` class and its parameters.
"""

from __future__ import annotations

import torch

from dgmcore.distributions import ParametricDistribution

__all__ = [
    "Bernoulli",
    "Beta",
    "Categorical",
    "Cauchy",
    "Dirichlet",
    "Gamma",
    "Laplace",
    "MultivariateNormal",
    "Normal",
    "Poisson",
]


class Normal(ParametricDistribution):
    family = torch.distributions.Normal
    params = ("loc", "scale")


class Laplace(ParametricDistribution):
    family = torch.distributions.Laplace
    params = ("loc", "scale")


class Bernoulli(ParametricDistribution):
    family = torch.distributions.Bernoulli
    params = ("probs", "logits")


class Categorical(ParametricDistribution):
    family = torch.distributions.Categorical
    params = ("probs", "logits")


class Gamma(ParametricDistribution):
    family = torch.distributions.Gamma
    params = ("concentration", "rate")


class Beta(ParametricDistribution):
    family = torch.distributions.Beta
    params = ("concentration1", "concentration0")


class Poisson(ParametricDistribution):
    family = torch.distributions.Poisson
    params = ("rate",)


class Dirichlet(ParametricDistribution):
    family = torch.distributions.Dirichlet
    params = ("concentration",)


class MultivariateNormal(ParametricDistribution):
    family = torch.distributions.MultivariateNormal
    params = ("loc", "covariance_matrix", "scale_tril")


class Cauchy(ParametricDistribution):
    family = torch.distributions.Cauchy
    params = ("loc", "scale")
