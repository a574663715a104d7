"""Keep the node's resident memory small on a Raspberry Pi.

biip loads GS1's table of company prefixes (about 190,000 trie nodes, ~15 MiB of Python
objects) when it is imported. The node never uses company prefixes: it needs the GTIN, its
check digit and the GS1 element strings, none of which consult that table. Dropping it
gives the memory back to Python's allocator for the rest of the node to reuse.

Start-up leaves more garbage behind than that table (decompressed JSON, import-time
temporaries), and glibc keeps freed memory in the process: it returns only what lies at the
top of its heaps, and a large freed block raises its threshold for using mmap, so later large
blocks land in the heap too. ``release_free_memory`` asks glibc to give every free page back
(``malloc_trim``); once the node is serving, that is about 10 MiB of its idle RSS, and the
node asks again every ``RELEASE_INTERVAL`` seconds. ``tune_allocator`` keeps large blocks
out of the heap in the first place.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import logging
from typing import Any

log = logging.getLogger(__name__)


def trim_library_tables() -> bool:
    """Drop biip's company-prefix table; returns whether there was one to drop."""
    try:
        import biip.gs1_prefixes as prefixes
    except ImportError:  # pragma: no cover - biip is a hard dependency
        return False
    if not isinstance(getattr(prefixes, "_GS1_COMPANY_PREFIX_TRIE", None), dict):
        log.debug("biip has no company-prefix table to drop (a newer biip?)")
        return False
    # An empty trie makes GS1CompanyPrefix.extract() answer None, which parse_scan ignores.
    prefixes._GS1_COMPANY_PREFIX_TRIE = {}
    gc.collect()
    return True


#: mallopt's parameter number for the mmap threshold (glibc's malloc.h).
_M_MMAP_THRESHOLD = -3
#: Blocks from this size up get their own mapping, which goes back to the system when freed.
MMAP_THRESHOLD = 256 * 1024
#: Seconds between two releases of free memory while the node runs.
RELEASE_INTERVAL = 30.0


def _libc_function(name: str) -> Any | None:
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None  # not glibc (musl has neither malloc_trim nor these mallopt knobs)


def tune_allocator() -> bool:
    """Keep large blocks (list responses, the JSON texts SQLite builds) out of the heap.

    glibc raises its mmap threshold each time a mapped block is freed, up to 32 MiB, so after
    the first big response every later one comes from the heap and leaves a hole there when
    freed (measured: +13 MiB after one read of each inventory list of a 20,000-lot kitchen).
    A fixed threshold keeps them mapped, and freeing them gives the pages back at once.
    Returns whether the C library took it.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _trim() -> bool:
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the system; whether that could be asked.

    glibc's ``malloc_trim(0)`` (every arena, not only the main heap's top); other C
    libraries (musl) have none, and nothing happens there.
    """
    gc.collect()
    return _trim()


async def release_periodically(interval: float = RELEASE_INTERVAL) -> None:
    """Every ``interval`` seconds, give free pages back (on a worker thread: the call walks
    every arena, and ctypes lets go of the GIL meanwhile). Runs until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        if not await loop.run_in_executor(None, _trim):
            return  # not glibc: nothing to ask for
