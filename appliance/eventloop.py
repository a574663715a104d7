"""The event loop the node and central serve on: uvloop where it is installed.

uvloop runs the same asyncio code with its transports, timers and thread hand-offs in C.
On the scan path that is about a tenth of the node's CPU per scan (measured with
``make bench``), and on a Pi every scan pays it. Without uvloop (a platform without a
wheel) or with ``KITCHEN_EVENT_LOOP=asyncio`` (to rule it out when chasing a bug), the
standard loop runs the same code.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on uvloop when available, else on asyncio's own loop."""
    if os.environ.get("KITCHEN_EVENT_LOOP", "").lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            log.debug("uvloop is not installed: serving on asyncio's own event loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)
