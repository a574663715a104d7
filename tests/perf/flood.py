"""``make bench``, flood section: a node under 50 clients posting scans without pause and 200
WebSocket clients, with its default write gate (``http.max_pending_writes``).

The scan clients do not honour ``Retry-After`` (a flood does not): each posts again as soon as
it has an answer. One more client lists the inventory in a loop. Measured: the accepted scans'
latency, the list latency, how many scans were accepted and refused, and whether every
accepted scan is in stock afterwards (nothing that got a 2xx may be lost).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable
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


async def flood(url: str, token: str, codes: list[str], seconds: float = SECONDS) -> dict[str, Any]:
    """Flood the node at ``url``; return latencies (ms) and counts."""
    headers = {"Authorization": f"Bearer {token}"}
    accepted: list[float] = []
    lists: list[float] = []
    counts = {"accepted": 0, "refused": 0, "other": 0}
    per_code = dict.fromkeys(codes, 0)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = []
        for _ in range(SOCKETS):
            ws = await session.ws_connect(f"{url}/api/ws?token={token}")
            await ws.receive()  # node.online hello
            sockets.append(ws)
        readers = [asyncio.create_task(_drain(ws)) for ws in sockets]
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
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*readers, return_exceptions=True)
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
    """Start a node with default limits, flood it, record the figures."""
    codes = [ean13(f"402{i:09d}") for i in range(200)]
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
        }
        node = NodeProcess(data, http=limits)
        try:
            await node.start()
            result = await flood(node.url, token, codes)
        finally:
            node.stop()
    label = f"flooded ({SCANNERS} scan clients + {SOCKETS} WS)"
    p99 = _pct(result["accepted_ms"], 99)
    lp99 = _pct(result["list_ms"], 99)
    record(f"{label}: accepted scan p50", _pct(result["accepted_ms"], 50), "ms", "", None)
    record(f"{label}: accepted scan p99", p99, "ms", "<= 200", p99 <= 200)
    record(f"{label}: list p99", lp99, "ms", "<= 50", lp99 <= 50)
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
