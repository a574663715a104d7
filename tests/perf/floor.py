"""The floor the node's scan path is measured against: a bare aiohttp handler.

``POST /api/scanner/scan`` does one durable SQLite write (WAL, ``synchronous=FULL``, like the
node, through aiosqlite like the node) and sends one WebSocket message per request to every
connected client, in the shape the load generator waits for. Nothing else: no token check,
no parsing beyond the JSON body, no projection. Whatever the node does above this is the
price of its features; ``make bench`` reports the node's sustained rate as a share of this.

Run as its own process, like the node: ``python -m tests.perf.floor PORT DATA_DIR``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
import uuid
from pathlib import Path

import aiosqlite
from aiohttp import web

DB = web.AppKey("db", aiosqlite.Connection)
SOCKETS = web.AppKey("sockets", set)


async def scan(request: web.Request) -> web.Response:
    """One durable write (its own transaction), then one message to every WebSocket client."""
    body = await request.json()
    event_id = str(uuid.uuid4())
    await request.app[DB].execute(
        "INSERT INTO scans (id, code, station_id, at) VALUES (?, ?, ?, ?)",
        (event_id, body["code"], body["station_id"], time.time()),
    )
    outcome = {"outcome": "added", "station_id": body["station_id"], "code": body["code"]}
    text = json.dumps({"type": "scanner.scan", "entity_id": None, "data": outcome})
    for ws in list(request.app[SOCKETS]):
        await ws.send_str(text)
    return web.json_response(outcome)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    """Push messages until the client leaves; a hello first, as the node sends."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.send_str(json.dumps({"type": "node.online", "entity_id": None, "data": {}}))
    request.app[SOCKETS].add(ws)
    try:
        async for _ in ws:
            pass
    finally:
        request.app[SOCKETS].discard(ws)
    return ws


async def health(request: web.Request) -> web.Response:
    """Up."""
    return web.json_response({"status": "ok"})


async def serve(port: int, data_dir: Path) -> None:
    """Serve on 127.0.0.1:``port`` until SIGTERM."""
    db = await aiosqlite.connect(data_dir / "floor.sqlite3", isolation_level=None)
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA synchronous = FULL")
    await db.execute(
        "CREATE TABLE IF NOT EXISTS scans (id TEXT PRIMARY KEY, code TEXT, station_id TEXT,"
        " at REAL)"
    )
    app = web.Application()
    app[DB] = db
    app[SOCKETS] = set()
    app.router.add_post("/api/scanner/scan", scan)
    app.router.add_get("/api/ws", websocket)
    app.router.add_get("/api/health", health)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await db.close()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))
