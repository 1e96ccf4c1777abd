"""Keep freed memory in the process (glibc malloc settings for a long-running model server).

By default glibc serves every allocation above a dynamic threshold (128 kB to 32 MB) with a fresh
mmap and gives it back to the system on free. A CNN forward that keeps its feature maps (capture)
then takes each new map from fresh pages and pays a page fault per 4 kB: measured on resnet18 at
224x224, one thread, capture of every conv/pool layer ran 1.34x a plain forward with glibc's
defaults and 1.03x with these settings (python -m nnviz.bench; BENCHMARKS.md). The price: the
process keeps up to its peak heap instead of shrinking after a large run (the trace cache is
bounded anyway: nnviz.runner.TraceCache).
"""
from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value: bigger blocks (a long text's attention) still mmap
TRIM_THRESHOLD = 512 * 2**20  # free heap kept before returning any to the system

_done: bool | None = None


def keep_freed_memory() -> bool:
    """Apply the settings once per process (Linux with glibc only); True if they are in force."""
    global _done
    if _done is None:
        _done = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL("libc.so.6")
                _done = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                    libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
            except (OSError, AttributeError):  # another C library (musl): leave its defaults
                _done = False
    return _done
