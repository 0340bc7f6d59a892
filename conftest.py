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
    config.addinivalue_line("markers", "cuda: needs a CUDA device; run on a GPU machine with `-m cuda`")


def pytest_collection_modifyitems(config, items):
    """Deselect (not skip) ``@pytest.mark.cuda`` tests on machines without CUDA."""
    import torch

    if torch.cuda.is_available():
        return
    deselected = [item for item in items if item.get_closest_marker("cuda") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("cuda") is None]
