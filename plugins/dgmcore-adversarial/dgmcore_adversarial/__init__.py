"""dgmcore-adversarial: adversarial divergences, MMD and FactorVAE's total correlation, as a plugin.

Installed, every loss below is also ``dgmcore.losses.<Name>`` (through the entry
point ``dgmcore.plugins: adversarial``), and ``dgm demo gan`` trains a GAN on the
scikit-learn digits. Each adversarial term owns its discriminator and that
discriminator's optimizer (DESIGN.md section 4.1): as a loss it gives the
generator's value, ``loss_train(x_dict)`` the discriminator's loss and
``train(x_dict)`` one discriminator step. See ``docs/adversarial.md``.

Example:
    >>> from dgmcore_adversarial import LOSSES
    >>> [cls.__name__ for cls in LOSSES]  # doctest: +NORMALIZE_WHITESPACE
    ['AdversarialJensenShannon', 'AdversarialKullbackLeibler', 'AdversarialWassersteinDistance',
     'MMD', 'DensityRatio', 'TotalCorrelation']
"""

from __future__ import annotations

from dgmcore_adversarial.base import AdversarialLoss, VariableMismatchError
from dgmcore_adversarial.divergences import AdversarialJensenShannon, AdversarialKullbackLeibler, DensityRatio
from dgmcore_adversarial.factorvae import PermuteDims, TotalCorrelation, permute_dims
from dgmcore_adversarial.mmd import KERNELS, MMD, gaussian_kernel, inverse_multiquadratic_kernel, mmd_unbiased
from dgmcore_adversarial.wasserstein import AdversarialWassersteinDistance, gradient_penalty

__version__ = "0.1.0"

#: Every loss class this plugin registers, in the order of the README table.
LOSSES = (
    AdversarialJensenShannon,
    AdversarialKullbackLeibler,
    AdversarialWassersteinDistance,
    MMD,
    DensityRatio,
    TotalCorrelation,
)

__all__ = [
    "KERNELS",
    "LOSSES",
    "MMD",
    "AdversarialJensenShannon",
    "AdversarialKullbackLeibler",
    "AdversarialLoss",
    "AdversarialWassersteinDistance",
    "DensityRatio",
    "PermuteDims",
    "TotalCorrelation",
    "VariableMismatchError",
    "__version__",
    "gaussian_kernel",
    "gradient_penalty",
    "inverse_multiquadratic_kernel",
    "mmd_unbiased",
    "permute_dims",
]
