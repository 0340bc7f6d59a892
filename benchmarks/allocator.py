"""Keep freed memory in the process while timing (glibc only).

glibc's ``malloc`` serves large blocks (a layer's activations, an optimizer
temporary) with ``mmap`` and hands freed memory back to the kernel once enough
of it sits at the top of the heap. Every training step then touches fresh
pages: on the virtual machines these benchmarks run on, a step at hidden 400
took 300-1,000 page faults, which cost a third of the step and made its time
swing with the host's load. :func:`keep_freed_memory` sets the two thresholds
(``M_MMAP_THRESHOLD`` to 32 MiB, ``M_TRIM_THRESHOLD`` to 1 GiB) with
``mallopt``, so that after the warm-up steps reuse the same pages and page-fault
no more. It changes nothing about what any column computes, and applies to all
columns alike; it is what a caching allocator (jemalloc, tcmalloc), which
PyTorch's CPU performance guides recommend, gives as well.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource

__all__ = ["keep_freed_memory", "minor_faults"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest mmap threshold on 64-bit systems
TRIM_THRESHOLD = 1 << 30


def keep_freed_memory() -> str:
    """Set glibc's thresholds; return a line for the report saying what was done."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return "allocator: as the platform gives it (no glibc mallopt)"
    ok = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    if not ok:
        return "allocator: as the platform gives it (mallopt refused the thresholds)"
    return (
        "allocator: glibc mallopt(M_MMAP_THRESHOLD=32 MiB, M_TRIM_THRESHOLD=1 GiB), so that "
        "freed memory stays in the process and steps do not page-fault (benchmarks/allocator.py)"
    )


def minor_faults() -> int:
    """Page faults (served without I/O) of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
