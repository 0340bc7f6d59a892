"""The demos of dgmcore-trainers: ``vae`` and ``cvae`` on the scikit-learn digits."""

from __future__ import annotations

from dgmcore_trainers.demos.digits_vae import cvae_demo, vae_demo

__all__ = ["cvae_demo", "vae_demo"]
