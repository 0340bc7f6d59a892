"""Models: :class:`Model` (core), plus the models plugins register (VAE, GAN...)."""

from __future__ import annotations

from dgmcore import plugins as _plugins
from dgmcore.models._model import Model

__all__ = ["Model"]

__getattr__, __dir__, get = _plugins.namespace("models", globals())
