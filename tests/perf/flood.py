"""``make bench``, flood section: a node under 50 clients posting scans without pause and 200
WebSocket clients, with its default write gate (``http.max_pending_writes``, ``max_write_wait_ms``).

Twice: with clients that wait ``Retry-After`` after a 503 (the budget's case: what a
well-behaved client does), and with clients that post again at once (a broken script or an
attacker: what refusing costs). One more client lists the inventory in a loop. Measured: the
accepted scans' latency, the list latency, how many scans were accepted and refused, and
whether every accepted scan is in stock afterwards (nothing that got a 2xx may be lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from appliance.config import HttpSection
from tests.perf.dataset import ean13
from tests.perf.nodeproc import NodeProcess, create_token

SCANNERS = 50
SOCKETS = 200
SECONDS = 10.0
Record = Callable[[str, float, str, str, bool | None], None]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def _drain(ws: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass


async def hold_sockets(url: str, token: str, count: int) -> None:
    """Hold ``count`` WebSockets, reading every message, until stdin closes.

    Run in a process of its own (``python -m tests.perf.flood``): reading 200 sockets' messages
    would otherwise slow the scan clients' own loop and show up as the node's latency.
    """
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for _ in range(count):
            ws = await session.ws_connect(f"{url}/api/ws?token={token}")
            await ws.receive()  # node.online hello
            sockets.append(ws)
        readers = [asyncio.create_task(_drain(ws)) for ws in sockets]
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)


@contextlib.asynccontextmanager
async def held_sockets(url: str, token: str, count: int) -> AsyncIterator[None]:
    """``count`` WebSocket clients in another process, connected while the block runs."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.perf.flood",
        url,
        token,
        str(count),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        async with asyncio.timeout(60):
            ready = await proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError("the WebSocket clients did not connect")
        yield
    finally:
        proc.stdin.close()
        await proc.wait()


async def flood(
    url: str, token: str, codes: list[str], *, polite: bool, seconds: float = SECONDS
) -> dict[str, Any]:
    """Flood the node at ``url``; return latencies (ms) and counts.

    ``polite`` clients wait ``Retry-After`` after a 503; the others post
    again at once, as a broken script or an attacker would.
    """
    headers = {"Authorization": f"Bearer {token}"}
    accepted: list[float] = []
    lists: list[float] = []
    counts = {"accepted": 0, "refused": 0, "other": 0}
    per_code = dict.fromkeys(codes, 0)
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
        held_sockets(url, token, SOCKETS),
    ):
        end = time.perf_counter() + seconds

        async def scanner(i: int) -> None:
            n = 0
            while time.perf_counter() < end:
                code = codes[(i * 7 + n) % len(codes)]
                n += 1
                body = {"code": code, "station_id": f"flood{i}", "mode": "add"}
                sent = time.perf_counter()
                async with session.post(
                    f"{url}/api/scanner/scan", json=body, headers=headers
                ) as response:
                    await response.read()
                if response.status == 200:
                    accepted.append((time.perf_counter() - sent) * 1000)
                    counts["accepted"] += 1
                    per_code[code] += 1
                elif response.status == 503:
                    counts["refused"] += 1
                    if polite:
                        delay = float(response.headers.get("Retry-After", "1"))
                        await asyncio.sleep(delay)  # ok: a client honouring Retry-After
                else:
                    counts["other"] += 1

        async def lister() -> None:
            while time.perf_counter() < end:
                sent = time.perf_counter()
                async with session.get(f"{url}/api/inventory", headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                lists.append((time.perf_counter() - sent) * 1000)

        began = time.perf_counter()
        await asyncio.gather(lister(), *(scanner(i) for i in range(SCANNERS)))
        elapsed = time.perf_counter() - began
        # Every accepted scan is in stock: each code's total is its number of 2xx answers.
        missing = 0
        for code, expected in per_code.items():
            async with session.get(
                f"{url}/api/products/by-barcode/{code}", headers=headers
            ) as response:
                total = (await response.json())["total"] if response.status == 200 else 0
            missing += max(0, expected - round(float(total)))
            if round(float(total)) > expected:  # a refused scan was applied
                counts["other"] += 1
    return {
        "accepted_ms": accepted,
        "list_ms": lists,
        "elapsed_s": elapsed,
        "missing": missing,
        **counts,
    }


async def flood_benchmarks(record: Record) -> None:
    """Start a node with default limits, flood it both ways, record the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "flood"
        data.mkdir()
        token = create_token(data)
        # The node's defaults, but all clients come from 127.0.0.1: the per-client connection
        # limit is raised to the total.
        defaults = HttpSection()
        limits = {
            "max_connections": defaults.max_connections,
            "max_connections_per_client": defaults.max_connections,
            "max_pending_writes": defaults.max_pending_writes,
            "max_write_wait_ms": defaults.max_write_wait_ms,
        }
        node = NodeProcess(data, http=limits)
        results = []
        try:
            await node.start()
            for prefix, polite in (("402", True), ("403", False)):
                codes = [ean13(f"{prefix}{i:09d}") for i in range(200)]
                results.append((polite, await flood(node.url, token, codes, polite=polite)))
        finally:
            node.stop()
    for polite, result in results:
        _record(record, polite, result)


def _record(record: Record, polite: bool, result: dict[str, Any]) -> None:
    label = f"flood, {'polite' if polite else 'ignoring Retry-After'}"
    p99 = _pct(result["accepted_ms"], 99)
    lp99 = _pct(result["list_ms"], 99)
    # The budget is for clients that honour Retry-After; the others show the cost of refusing.
    budgeted = polite or None
    record(f"{label}: accepted scan p50", _pct(result["accepted_ms"], 50), "ms", "", None)
    record(
        f"{label}: accepted scan p99",
        p99,
        "ms",
        "<= 200" if polite else "",
        p99 <= 200 if budgeted else None,
    )
    record(
        f"{label}: list p99", lp99, "ms", "<= 50" if polite else "", lp99 <= 50 if polite else None
    )
    record(f"{label}: scans accepted", result["accepted"] / result["elapsed_s"], "/s", "", None)
    record(f"{label}: scans refused (503)", result["refused"] / result["elapsed_s"], "/s", "", None)
    # The flood's figures depend on what else runs: say how busy the machine was.
    record(f"{label}: machine load average (1 min)", os.getloadavg()[0], "", "", None)
    record(
        f"{label}: accepted scans missing, refused applied",
        result["missing"] + result["other"],
        "",
        "== 0",
        result["missing"] + result["other"] == 0,
    )


if __name__ == "__main__":
    asyncio.run(hold_sockets(sys.argv[1], sys.argv[2], int(sys.argv[3])))
