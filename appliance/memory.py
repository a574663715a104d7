"""Keep the node's resident memory small on a Raspberry Pi.

biip loads GS1's table of company prefixes (about 190,000 trie nodes, ~15 MiB of Python
objects) when it is imported. The node never uses company prefixes: it needs the GTIN, its
check digit and the GS1 element strings, none of which consult that table. Dropping it
gives the memory back to Python's allocator for the rest of the node to reuse.

Start-up leaves more garbage behind than that table (decompressed JSON, import-time
temporaries), and glibc keeps freed memory in the process: it returns only what lies at the
top of its heaps, and a large freed block raises its threshold for using mmap, so later large
blocks land in the heap too. ``release_free_memory`` asks glibc to give every free page back
(``malloc_trim``); once the node is serving, that is about 10 MiB of its idle RSS.
"""

from __future__ import annotations

import ctypes
import gc
import logging

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


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the system; whether that could be asked.

    glibc's ``malloc_trim(0)`` (every arena, not only the main heap's top); other C
    libraries (musl) have none, and nothing happens there.
    """
    gc.collect()
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
