"""The assertions every fault test ends with: zero loss, zero duplicates, equal checksums."""

from __future__ import annotations

import asyncpg

from central.db import queries
from tests.fakes.harness import Node, until


async def assert_converged(
    dsn: str,
    nodes: list[Node],
    expected_events: int,
    within: float = 60.0,
    *,
    rejects_expected: bool = False,
) -> str:
    """Every event once in PostgreSQL, every outbox empty, every checksum equal; the checksum."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        state: dict[str, object] = {}

        async def settled() -> bool:
            digest, _, count = await queries.checksum(pool)
            sums = {n.name: await n.checksum() for n in nodes}
            depths = {n.name: await n.outbox_depth() for n in nodes}
            state.update(count=count, digest=digest, sums=sums, depths=depths)
            return (
                count == expected_events
                and not any(depths.values())
                and all(s == digest for s in sums.values())
            )

        try:
            await until(settled, within, "convergence")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {state}") from None
        rows = await pool.fetch(
            "SELECT origin, count(*) AS n, max(seq) AS top, count(DISTINCT event_id) AS ids"
            " FROM events GROUP BY origin"
        )
        for row in rows:
            assert row["n"] == row["top"] == row["ids"], f"{row['origin']}: gap or duplicate"
        if not rejects_expected:
            assert await pool.fetchval("SELECT count(*) FROM quarantine") == 0
            assert await pool.fetchval("SELECT count(*) FROM dead_letter") == 0
        return str(state["digest"])
    finally:
        await pool.close()
