"""Reading the household facts for the rules from central's PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from central.notify.facts import Facts, NodePresence
from central.notify.settings import NotifySettings


async def node_presence(db: asyncpg.Pool | asyncpg.Connection) -> tuple[NodePresence, ...]:
    """Each node's presence and since when (``nodes.changed_at``: central's clock)."""
    rows = await db.fetch("SELECT node, status, changed_at FROM nodes ORDER BY node")
    return tuple(
        NodePresence(r["node"], r["status"] == "online", r["changed_at"])
        for r in rows
        if r["status"] in ("online", "offline")
    )


async def gather(pool: asyncpg.Pool, now: datetime, settings: NotifySettings) -> Facts:
    """The facts at ``now``."""
    return Facts(nodes=await node_presence(pool))
