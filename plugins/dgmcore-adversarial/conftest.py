"""One torch thread for this plugin's tests and doctests.

The networks here are tiny; on a shared 2-core machine two torch threads
contend with every other process, and a step that takes half a millisecond on
one thread can take tens of milliseconds on two. The setting is restored after
each test.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
