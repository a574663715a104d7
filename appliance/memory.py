"""Keep the node's resident memory small on a Raspberry Pi.

biip loads GS1's table of company prefixes (about 190,000 trie nodes, ~15 MiB of Python
objects) when it is imported. The node never uses company prefixes: it needs the GTIN, its
check digit and the GS1 element strings, none of which consult that table. Dropping it
gives the memory back to Python's allocator for the rest of the node to reuse.
"""

from __future__ import annotations

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
