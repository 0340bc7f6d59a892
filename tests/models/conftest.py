"""The model tests use the loss tests' families and networks (see tests/losses/conftest.py)."""

from tests.losses.conftest import vae  # noqa: F401  (the fixture)
