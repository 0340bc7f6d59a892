"""The sample-dimension context: how many sample dimensions lie in front of the batch.

Inside ``Expectation`` (and ancestral sampling with a ``sample_shape``) the drawn
values carry sample dimensions in front of the batch dimension; distributions
read :func:`sample_dims` to tell which leading dimensions are samples and which
is the batch. It is a shape context, not a cache: it has nothing to do with the
memo (:mod:`dgmcore.memo`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["extra_sample_dims", "sample_dims"]


class _Context(threading.local):
    def __init__(self) -> None:
        self.ndim = 0  # sample dims in front of the batch dim, on this thread


_context = _Context()


def sample_dims() -> int:
    """Number of sample dimensions in front of the batch dimension right now.

    Example:
        >>> from dgmcore.distributions import extra_sample_dims, sample_dims
        >>> with extra_sample_dims(2):
        ...     sample_dims()
        2
        >>> sample_dims()
        0
    """
    return _context.ndim


@contextmanager
def extra_sample_dims(n: int) -> Iterator[None]:
    """Declare ``n`` more sample dimensions in front of the batch dimension.

    Opened by :class:`~dgmcore.losses.Expectation` (and sampling with a
    ``sample_shape``) around the work done on the drawn samples.
    """
    context = _context
    context.ndim += n
    try:
        yield
    finally:
        context.ndim -= n
