"""``make bench``: the node's latency, throughput, memory and start-up, against the budget.

Runs real ``kitchen-node`` processes on loopback and real WebSocket clients; prints a table
and writes JSON. Never part of ``make test``: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.perf.dataset import ean13, populate
from tests.perf.flood import flood_benchmarks
from tests.perf.nodeproc import NodeProcess, create_token
from tests.perf.store_only import store_cpu_per_scan

RESULTS: list[dict[str, Any]] = []
#: Which repetition of the chosen sections is running (``--repeat``), kept in the JSON.
RUN = {"index": 1}


def record(name: str, value: float, unit: str, budget: str, ok: bool | None) -> None:
    """Keep one figure for the table and the JSON."""
    RESULTS.append(
        {
            "name": name,
            "value": round(value, 3),
            "unit": unit,
            "budget": budget,
            "ok": ok,
            "run": RUN["index"],
        }
    )
    verdict = "" if ok is None else ("ok" if ok else "OVER")
    print(f"  {name:<58} {value:>10.2f} {unit:<6} {budget:<12} {verdict}", flush=True)


def pct(values: list[float], q: float) -> float:
    """Percentile q (0-100) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


#: Stations the scan benchmark reuses (the node caps stations that owners name at 64).
STATIONS = 48
#: The latency a refused scan counts as (seconds): a step with refusals does not hold.
REFUSED = 10.0


class Clients:
    """N WebSocket clients recording when each scan result arrives."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str, n: int) -> None:
        self.session, self.url, self.token, self.n = session, url, token, n
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.arrivals: dict[str, list[float]] = {}
        self.waiters: dict[str, asyncio.Future[None]] = {}
        self.expect = n

    async def __aenter__(self) -> Clients:
        for _ in range(self.n):
            ws = await self.session.ws_connect(f"{self.url}/api/ws?token={self.token}")
            await ws.receive()  # node.online hello
            self.sockets.append(ws)
            self.tasks.append(asyncio.create_task(self._read(ws)))
        return self

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            now = time.perf_counter()
            data = json.loads(msg.data)
            if data["type"] != "scanner.scan":
                continue
            key = data["data"]["station_id"]
            arrivals = self.arrivals.setdefault(key, [])
            arrivals.append(now)
            waiter = self.waiters.get(key)
            if waiter is not None and len(arrivals) >= self.expect and not waiter.done():
                waiter.set_result(None)

    async def __aexit__(self, *exc: object) -> None:
        for ws in self.sockets:
            await ws.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def scan_latency(
    node: NodeProcess, token: str, rate: float, seconds: float, clients: int, codes: list[str]
) -> tuple[list[float], float]:
    """Scans at ``rate``/s; latency from POST to the result at every client."""
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        Clients(session, node.url, token, clients) as ws,
    ):
        # A scan's result is recognised by its station, so each station has one scan in flight
        # at a time; a small pool of them is reused (the node keeps its station list short
        # and refuses a station per scan).
        idle: asyncio.Queue[str] = asyncio.Queue()
        for n in range(STATIONS):
            idle.put_nowait(f"s{n}")

        async def one(i: int) -> None:
            station = await idle.get()
            ws.arrivals.pop(station, None)
            waiter = asyncio.get_running_loop().create_future()
            ws.waiters[station] = waiter
            sent = time.perf_counter()
            body = {"code": codes[i % len(codes)], "station_id": station, "mode": "add"}
            async with session.post(
                node.url + "/api/scanner/scan", json=body, headers=headers
            ) as response:
                await response.read()
            if response.status != 200:
                # Refused (the write gate, a limit): no message comes; it counts as too slow.
                ws.waiters.pop(station, None)
                latencies.append(REFUSED)
                idle.put_nowait(station)
                return
            await asyncio.wait_for(waiter, 30)
            latencies.extend(t - sent for t in ws.arrivals[station])
            idle.put_nowait(station)

        count = int(rate * seconds)
        began = time.perf_counter()
        tasks = []
        for i in range(count):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # ok: offers scans at the measured rate
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        achieved = count / (time.perf_counter() - began)
    return [x * 1000 for x in latencies], achieved


async def sustained(proc: NodeProcess, token: str, label: str, codes: Any) -> tuple[float, float]:
    """The highest rate (scans/s) that held with p99 < 100 ms, and the p99 at that rate.

    ``codes(count)`` gives the barcodes of one step. Steps of 100 scans/s, then of 25 above
    the last rate that held; a step holds if 90 % of the offered rate was achieved with p99
    under 100 ms. A step that fails is run once more before the search stops there: on a
    machine shared with other work, one stall would otherwise end the search early.
    """
    best, best_p99 = 0.0, 0.0

    async def holds(rate: int) -> bool:
        nonlocal best, best_p99
        for _ in range(2):
            lat, achieved = await scan_latency(proc, token, rate, 4, 1, codes(rate * 4))
            p99 = pct(lat, 99)
            print(
                f"    {label}: {rate:>5} scans/s offered: {achieved:7.1f} achieved,"
                f" p99 {p99:7.1f} ms",
                flush=True,
            )
            if p99 <= 100 and achieved >= rate * 0.9:
                best, best_p99 = achieved, p99
                return True
        return False

    # Up to 5,000/s: the floor held 1,990/s here, the top of an older limit of 2,000, so
    # its real rate (and with it every share) was unknown.
    for rate in range(100, 5001, 100):
        if not await holds(rate):
            for finer in range(rate - 75, rate, 25):
                if not await holds(finer):
                    break
            break
    return best, best_p99


async def cpu_per_scan(proc: NodeProcess, token: str, codes: list[str]) -> float:
    """CPU milliseconds (all threads) the server spends per scan at 200 scans/s.

    Unlike a rate, this hardly moves when other work shares the machine.
    """
    stat = Path(f"/proc/{proc.pid}/stat")

    def used() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    before = used()
    await scan_latency(proc, token, 200, 4, 1, codes)
    return (used() - before) * 1000 / 800


async def scan_rates(node: NodeProcess, token: str, known: list[str], tmp: Path) -> float:
    """Sustained rates of the floor, of known-product scans and of new-barcode scans."""
    from tests.perf.nodeproc import FloorProcess

    floor_dir = tmp / "floor"
    floor_dir.mkdir()
    floor = FloorProcess(floor_dir)
    try:
        await floor.start()
        await scan_latency(floor, "floor", 100, 2, 1, known)  # warm-up, as the node had
        floor_rate, floor_p99 = await sustained(floor, "", "floor", lambda n: known)
        floor_cpu = await cpu_per_scan(floor, "", known)
    finally:
        floor.stop()
    record("floor: bare aiohttp + durable SQLite write + WS message", floor_rate, "/s", "", None)
    record("floor: p99 at that rate", floor_p99, "ms", "", None)
    record("floor: CPU per scan", floor_cpu, "ms", "", None)
    # What the node's data model costs before any HTTP: with the floor's CPU, a bound on
    # the share any node writing these rows per scan can reach.
    for side_by_side, cpu in (await store_cpu_per_scan()).items():
        record(f"store alone, known scan, {side_by_side} in flight: CPU", cpu, "ms", "", None)
    fresh = (ean13(f"29{n:010d}") for n in itertools.count())
    for label, codes in (
        ("known products", lambda n: known),
        ("new barcodes", lambda n: [next(fresh) for _ in range(n)]),
    ):
        rate, p99 = await sustained(node, token, label, codes)
        cpu = await cpu_per_scan(node, token, codes(800))
        if label == "known products":
            best = rate
            record("sustained scans/s with p99 < 100 ms", rate, "/s", ">= 500", rate >= 500)
        else:
            record("sustained new-barcode scans/s with p99 < 100 ms", rate, "/s", "", None)
        record(f"  {label}: p99 at that rate", p99, "ms", "", None)
        share = rate / floor_rate if floor_rate else 0.0
        record(f"  {label}: share of the floor", share, "", ">= 0.8", share >= 0.8)
        record(f"  {label}: CPU per scan (floor's / node's)", floor_cpu / cpu, "", "", None)
    return best


async def fan_out(node: NodeProcess, token: str, clients: int) -> float:
    """One event to ``clients`` WebSockets: ms until the last one has it."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session,
        Clients(session, node.url, token, clients) as ws,
    ):
        samples = []
        for i in range(5):
            station = f"s{i}"
            waiter = asyncio.get_running_loop().create_future()
            ws.waiters[station] = waiter
            sent = time.perf_counter()
            async with session.post(
                node.url + "/api/scanner/scan",
                json={"code": "4006381333931", "station_id": station, "mode": "lookup"},
                headers=headers,
            ) as r:
                await r.read()
            await asyncio.wait_for(waiter, 30)
            samples.append((max(ws.arrivals[station]) - sent) * 1000)
    return statistics.median(samples)


async def inventory_latency(node: NodeProcess, token: str, path: str, n: int) -> list[float]:
    """Sequential GETs of ``path``; milliseconds each."""
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    async with aiohttp.ClientSession() as session:
        for _ in range(n):
            began = time.perf_counter()
            async with session.get(node.url + path, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            samples.append((time.perf_counter() - began) * 1000)
    return samples


#: The sections ``--only`` can pick, in the order they run.
SECTIONS = (
    "idle",
    "latency",
    "rates",
    "fanout",
    "inventory",
    "flood",
    "sync",
    "receipts",
    "dashboard",
)


async def node_benchmarks(sections: frozenset[str]) -> None:
    """The node's own figures: the fresh node's, then those of a node with a big database."""
    print(
        f"kitchen node benchmark on {platform.node()} ({platform.machine()}, "
        f"{platform.python_version()})"
    )
    print(f"  {'measure':<58} {'value':>10} {'unit':<6} {'budget':<12}")
    codes = [ean13(f"401{i:09d}") for i in range(200)]
    best = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        if sections & {"idle", "latency", "rates", "fanout"}:
            best = await fresh_node_benchmarks(sections, codes, Path(tmp))
        if "inventory" in sections:
            await big_node_benchmarks(codes, Path(tmp), best)


async def fresh_node_benchmarks(sections: frozenset[str], codes: list[str], tmp: Path) -> float:
    """Start-up, idle memory, latency, sustained rates and fan-out of a fresh node."""
    fresh = tmp / "fresh"
    fresh.mkdir()
    token = create_token(fresh)
    node = NodeProcess(fresh)
    best = 0.0
    try:
        started = await node.start()
        if "idle" in sections:
            # 1. start-to-healthy and idle memory on a fresh node
            record("start to healthy (fresh node)", started * 1000, "ms", "<= 2000", started <= 2)
            await asyncio.sleep(1)  # ok: lets the fresh node settle before idle RSS
            idle = node.rss_mb()
            record("RSS idle", idle, "MiB", "<= 60", idle <= 60)
        if "latency" in sections:
            # 2. scan -> WebSocket latency at 20 scans/s with 20 clients (after a warm-up:
            # the first scans pay for lazy imports and SQLite's cold page cache)
            await scan_latency(node, token, 20, 2, 20, codes)
            lat, _ = await scan_latency(node, token, 20, 10, 20, codes)
            record("scan -> WS at 20 clients, 20 scans/s, p50", pct(lat, 50), "ms", "", None)
            record(
                "scan -> WS at 20 clients, 20 scans/s, p99",
                pct(lat, 99),
                "ms",
                "<= 15",
                pct(lat, 99) <= 15,
            )
        if "rates" in sections:
            # 3. sustained scans/s while p99 stays under 100 ms (one client), of known
            # products and of new barcodes, each as a share of the floor measured here too
            if "latency" not in sections:
                await scan_latency(node, token, 20, 2, 1, codes)  # the same warm-up
            best = await scan_rates(node, token, codes, tmp)
        if "fanout" in sections:
            # 4. one event to 200 WebSocket clients
            spread = await fan_out(node, token, 200)
            record(
                "one event to 200 WS clients, all delivered", spread, "ms", "<= 50", spread <= 50
            )
    finally:
        node.stop()
    return best


async def big_node_benchmarks(codes: list[str], tmp: Path, best: float) -> None:
    """Inventory with 5,000 products / 20,000 lots, then 50,000 events in all."""
    big = tmp / "big"
    big.mkdir()
    began = time.perf_counter()
    events = await populate(big, 5000, 20000)
    print(f"    populated {events} events in {time.perf_counter() - began:.1f} s", flush=True)
    token = create_token(big)
    node = NodeProcess(big)
    try:
        started = await node.start()
        record(
            "start to healthy (5,000 products, 20,000 lots)",
            started * 1000,
            "ms",
            "<= 2000",
            started <= 2,
        )
        for label, path in (
            ("GET /api/inventory (first page of 500 lots) p99", "/api/inventory"),
            ("GET /api/inventory?limit=20000 (all lots) p99", "/api/inventory?limit=20000"),
            ("GET /api/inventory/summary (5,000 products) p99", "/api/inventory/summary"),
            ("GET /api/products (first page of 500) p99", "/api/products"),
        ):
            samples = await inventory_latency(node, token, path, 60)
            budget_ok = pct(samples, 99) <= 50
            record(label, pct(samples, 99), "ms", "<= 50", budget_ok)
        # The live scans come at a rate this machine sustains (at most 400/s): offered
        # above capacity, the measure would be of the request backlog, not of the data.
        # Without the rates section, 400/s is assumed.
        remaining = 50_000 - events
        live_rate = min(400.0, max(50.0, 0.9 * best)) if best else 400.0
        print(f"    {remaining} live scans at {live_rate:.0f}/s", flush=True)
        await scan_latency(node, token, live_rate, remaining / live_rate, 1, codes)
        record(
            f"RSS after 50,000 events ({remaining} of them live scans)",
            node.rss_mb(),
            "MiB",
            "<= 80",
            node.rss_mb() <= 80,
        )
    finally:
        node.stop()


def sync_benchmarks() -> None:
    """Node -> central -> other node, central ingest, catch-up (Mosquitto + PostgreSQL)."""
    from tests.fakes.postgres import temporary_database
    from tests.sync.bench_sync import measure

    with tempfile.TemporaryDirectory() as tmp, temporary_database("kitchen_bench") as dsn:
        sync = asyncio.run(measure(dsn, Path(tmp)))
    latency = sync["node_to_node"]
    assert isinstance(latency, dict)
    record("node -> central -> other node, p50", latency["p50_ms"], "ms", "", None)
    record(
        "node -> central -> other node, p99",
        latency["p99_ms"],
        "ms",
        "<= 100",
        latency["p99_ms"] <= 100,
    )
    ingest = float(str(sync["central_ingest_events_per_s"]))
    record("central ingest", ingest, "/s", "", None)
    catch_up = float(str(sync["catch_up_20000_s"]))
    record("catch-up after 20,000 missed events", catch_up, "s", "<= 10", catch_up <= 10)


def receipt_transfer_benchmarks() -> None:
    """A large receipt photo: node's 202, then node -> central over MQTT into PostgreSQL."""
    from tests.fakes.postgres import temporary_database
    from tests.perf.receipt_transfer import measure

    with tempfile.TemporaryDirectory() as tmp, temporary_database("kitchen_bench_rt") as dsn:
        figures = asyncio.run(measure(dsn, Path(tmp)))
    size = figures["photo_bytes"] / 1e6
    record(f"receipt photo {size:.1f} MB: node answers 202", figures["accept_ms"], "ms", "", None)
    record(f"receipt photo {size:.1f} MB: at central", figures["deliver_s"], "s", "", None)


def main(out: Path, sections: frozenset[str] = frozenset(SECTIONS), repeat: int = 1) -> None:
    """Run the chosen sections (all by default) ``repeat`` times, print the table, write the
    JSON (each figure with the number of its run: on a shared machine one run says little)."""
    for index in range(1, repeat + 1):
        RUN["index"] = index
        if repeat > 1:
            print(f"run {index} of {repeat}", flush=True)
        asyncio.run(node_benchmarks(sections))
        if "flood" in sections:
            asyncio.run(flood_benchmarks(record))
        if "sync" in sections:
            sync_benchmarks()
        if "receipts" in sections:
            receipt_transfer_benchmarks()
        if "dashboard" in sections:
            from tests.perf.central_dashboard import run as dashboard_benchmarks

            dashboard_benchmarks(record)
    for app, info in (("web app", "appliance"), ("dashboard", "central")):
        path = Path(f"{info}/webapp/static/build-info.json")
        build = json.loads(path.read_text()) if path.exists() else {}
        for key, value in build.items():
            if isinstance(value, int | float) and "bytes" in key:
                # issue 11: the dashboard's first load <= 300 KiB gzip (charts load lazily)
                limit = 300 if app == "dashboard" and key == "first_load_gzip_bytes" else None
                ok = None if limit is None else value / 1024 <= limit
                record(f"{app} {key}", value / 1024, "KiB", f"<= {limit}" if limit else "", ok)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.node(), "results": RESULTS}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench-results/bench.json"))
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all): {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the chosen sections this many times"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    chosen = frozenset(part.strip() for part in args.only.split(",") if part.strip())
    if unknown := chosen - set(SECTIONS):
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    main(args.out, chosen, args.repeat)
