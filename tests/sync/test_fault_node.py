"""Fault 1: a node killed with kill -9 at random points during 500 acknowledged scans."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import asyncpg

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import Node
from tests.sync.checks import assert_converged

SCANS = 500


async def _run_until_killed(args: list[str], acked: list[str], kill_after: int) -> bool:
    """Run the node process; kill -9 it after ``kill_after`` more acks. True when it finished."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.node_process",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    seen = 0
    try:
        while True:
            line = (await process.stdout.readline()).decode().strip()
            if not line:
                return False  # it died on its own (it must not)
            if line == "DONE":
                return True
            acked.append(line.removeprefix("ACK "))
            seen += 1
            if seen >= kill_after:
                return False
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_node_killed_at_random_points(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    rng = random.Random(1)
    creds = broker.add_node("node-k")
    other = Node("node-o", tmp_path / "o", broker)
    await broker.reload()
    args = [str(tmp_path / "k"), "node-k", str(broker.port), creds.password, str(SCANS)]
    acked: list[str] = []
    kills = 0
    try:
        await other.start()
        while not await _run_until_killed(args, acked, rng.randint(20, 120)):
            kills += 1
        # Everything the user was told about is committed locally; restart it in-process.
        victim = Node("node-k", tmp_path / "k", broker, creds=creds)
        await victim.start()
        try:
            await assert_converged(dsn, [victim, other], SCANS, within=60)
        finally:
            await victim.stop()
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            stored = {
                r["event_id"]
                for r in await pool.fetch(
                    "SELECT event_id::text FROM events WHERE origin = 'node-k'"
                )
            }
        finally:
            await pool.close()
        assert kills >= 3
        # A scan committed just before the kill may not have been reported; none may be lost.
        assert len(acked) == len(set(acked))
        assert set(acked) <= stored
        assert len(stored) == SCANS
        assert len({e.event_id for e in other.applied}) == len(other.applied) == SCANS
    finally:
        await other.stop()
