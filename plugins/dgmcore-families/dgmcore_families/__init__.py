"""dgmcore-families: the parametric distribution families of dgmcore, as a plugin.

Installed, every class below is also ``dgmcore.distributions.<Name>`` (through
the entry point ``dgmcore.plugins: families``); each family's analytic KL pairs
and entropies that ``torch.distributions`` lacks are registered with the core's
registry. See ``docs/families.md``.

Example:
    >>> import torch
    >>> from dgmcore_families import Bernoulli, Normal
    >>> prior = Normal(loc=0.0, scale=1.0, var=["z"], features_shape=[2], name="p_prior")
    >>> decoder = Bernoulli(logits="z", var=["x"], cond_var=["z"])
    >>> joint = decoder * prior
    >>> joint.prob_factorized_text
    'p(x|z)p_prior(z)'
    >>> sorted(joint.sample(batch_n=3))
    ['x', 'z']
"""

from __future__ import annotations

from dgmcore_families.bernoulli import Bernoulli, FactorizedBernoulli
from dgmcore_families.beta import Beta, Dirichlet
from dgmcore_families.categorical import Categorical, OneHotCategorical
from dgmcore_families.gamma import Exponential, Gamma
from dgmcore_families.location_scale import Cauchy, Laplace, StudentT
from dgmcore_families.mixture import MixtureModel, PosteriorMixtureModel
from dgmcore_families.moe import MixtureOfExperts, MixtureOfNormal
from dgmcore_families.multinomial import Multinomial
from dgmcore_families.multivariate_normal import LowRankMultivariateNormal, MultivariateNormal
from dgmcore_families.normal import LogNormal, Normal
from dgmcore_families.poe import ElementWiseProductOfNormal, ProductOfNormal
from dgmcore_families.poisson import Poisson
from dgmcore_families.relaxed import RelaxedBernoulli, RelaxedCategorical, RelaxedOneHotCategorical
from dgmcore_families.uniform import Uniform

__version__ = "0.1.0"

#: Every distribution class this plugin provides, in the order of the README table.
FAMILIES = (
    Normal,
    Bernoulli,
    Categorical,
    OneHotCategorical,
    Multinomial,
    Laplace,
    Beta,
    Gamma,
    Dirichlet,
    Uniform,
    Poisson,
    StudentT,
    Cauchy,
    Exponential,
    LogNormal,
    MultivariateNormal,
    LowRankMultivariateNormal,
    RelaxedBernoulli,
    RelaxedOneHotCategorical,
    RelaxedCategorical,
    FactorizedBernoulli,
    MixtureModel,
    PosteriorMixtureModel,
    ProductOfNormal,
    ElementWiseProductOfNormal,
    MixtureOfNormal,
    MixtureOfExperts,
)

__all__ = [
    "FAMILIES",
    "Bernoulli",
    "Beta",
    "Categorical",
    "Cauchy",
    "Dirichlet",
    "ElementWiseProductOfNormal",
    "Exponential",
    "FactorizedBernoulli",
    "Gamma",
    "Laplace",
    "LogNormal",
    "LowRankMultivariateNormal",
    "MixtureModel",
    "MixtureOfExperts",
    "MixtureOfNormal",
    "Multinomial",
    "MultivariateNormal",
    "Normal",
    "OneHotCategorical",
    "Poisson",
    "PosteriorMixtureModel",
    "ProductOfNormal",
    "RelaxedBernoulli",
    "RelaxedCategorical",
    "RelaxedOneHotCategorical",
    "StudentT",
    "Uniform",
    "__version__",
]
