"""Suite-wide pytest setup, for every test path (tests/, dgmcore/ doctests, plugins/*/tests).

It lives at the repository root because pytest loads a ``conftest.py`` only for
the tests below it: one in ``tests/`` would not protect the plugins' own tests
or the doctests.
"""

from __future__ import annotations

#: The plugins that ship in this repository (plugins/); only their entry points
#: are loaded in the suite.
FIRST_PARTY = (
    "dgmcore-families",
    "dgmcore-flows",
    "dgmcore-adversarial",
    "dgmcore-timeseries",
    "dgmcore-trainers",
)


def pytest_configure(config):
    """Keep plugins the user installed (or names in ``DGMCORE_PLUGINS``) out of the suite."""
    from dgmcore import plugins

    plugins.reset(entry_points=FIRST_PARTY, env=False)
