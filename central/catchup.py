"""Answering catch-up requests: pages of events above a version vector, or a snapshot first.

A walk is driven by the node: it sends its version vector, central answers one page, the node
asks for the next page with the same vector and the last (origin, seq) key it got. A lost
request or answer only costs a retry. A node that misses more than ``snapshot_threshold``
events (and says it can take one) first gets a snapshot of entity states, paged by (kind, id),
with the vector the snapshot covers, taken before the first page is read. Entity states only
ever grow by joins, so each later page covers at least that vector; the events above it come
afterwards through the ordinary walk.
"""

from __future__ import annotations

import asyncpg

from appliance.sync.protocol import SyncRequest, SyncResponse
from central.db import queries


async def answer(
    pool: asyncpg.Pool,
    request: SyncRequest,
    *,
    page_size: int,
    snapshot_threshold: int,
) -> SyncResponse:
    """The next page for ``request``."""
    limit = min(request.limit, page_size)
    if request.mode == "snapshot":
        return await _snapshot_page(pool, request, limit, dict(request.vector))
    if (
        request.snapshot_ok
        and request.after is None
        and await queries.count_missing(pool, request.vector, snapshot_threshold + 1)
        > snapshot_threshold
    ):
        covered = await queries.contiguous_vector(pool)
        # Never move a node backwards: an origin the node is ahead on keeps its own value.
        for origin, seq in request.vector.items():
            covered[origin] = max(seq, covered.get(origin, 0))
        return await _snapshot_page(pool, request, limit, covered)
    events = await queries.events_after(pool, request.vector, request.after, limit + 1)
    more = len(events) > limit
    events = events[:limit]
    after = (events[-1]["origin"], events[-1]["seq"]) if events else request.after
    return SyncResponse(request.req_id, "events", more, events=events, after=after)


async def _snapshot_page(
    pool: asyncpg.Pool, request: SyncRequest, limit: int, vector: dict[str, int]
) -> SyncResponse:
    entities = await queries.snapshot_page(pool, request.cursor, limit + 1)
    more = len(entities) > limit
    entities = entities[:limit]
    cursor = (entities[-1][0], entities[-1][1]) if entities else request.cursor
    return SyncResponse(
        request.req_id, "snapshot", more, entities=entities, cursor=cursor, vector=vector
    )


async def missing(pool: asyncpg.Pool, vector: dict[str, int]) -> int:
    """How many events a node with ``vector`` lacks (the total of its catch-up progress)."""
    return await queries.count_missing(pool, vector, 2**62)
