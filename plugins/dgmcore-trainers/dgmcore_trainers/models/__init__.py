"""The models of dgmcore-trainers: :class:`VAE`, :class:`GAN`, :class:`ML`, :class:`VI`.

Each builds its objective from distributions with Pixyz's meaning and is a
:class:`dgmcore.models.Model`, so ``train`` / ``test`` / ``state_dict`` work as
in the core and :func:`dgmcore_trainers.fit` runs any of them.
"""

from __future__ import annotations

from dgmcore_trainers.models.gan import GAN
from dgmcore_trainers.models.ml import ML
from dgmcore_trainers.models.vae import VAE
from dgmcore_trainers.models.vi import VI

__all__ = ["GAN", "ML", "VAE", "VI"]
