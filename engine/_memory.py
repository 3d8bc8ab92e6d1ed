"""Giving freed memory back to the operating system (shared by storage and validation)."""

from __future__ import annotations

__all__ = ["give_back_memory"]


def give_back_memory() -> None:
    """Return freed memory to the operating system, so that peak RSS tracks live data.

    Arrow's allocator (mimalloc/jemalloc) keeps freed blocks for reuse, and glibc keeps freed
    heap blocks (the ADBC driver's record batches are many medium-sized ones) inside the
    process; neither can be reused by numpy's large allocations. ``malloc_trim`` is what Dask
    workers call for the same reason; it exists only in glibc, elsewhere this does nothing.
    """
    import ctypes
    import sys

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:  # glibc's soname; find_library would start a subprocess on every call
            trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            return
        trim(0)
