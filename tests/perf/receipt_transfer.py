"""Receipt transport figures (not a test): ``python -m tests.perf.receipt_transfer``.

A node (real aiohttp app, SQLite) takes a large photo over HTTP and sends it to central over a
real Mosquitto into a real PostgreSQL: how long the 202 takes, and how long until central
holds every byte (no reading: ``workers = 0``).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from appliance.api.keys import TOKENS
from appliance.app import build_app
from appliance.config import build_config
from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.fakes.ports import free_port
from tests.fakes.postgres import temporary_database
from tests.node.helpers import config_data
from tests.receipt_flow.files import noisy_jpeg


async def measure(dsn: str, tmp: Path, megabytes: float = 5.0, rounds: int = 3) -> dict[str, Any]:
    """Accept and delivery times of ``rounds`` photos of about ``megabytes``."""
    broker = Broker(tmp / "broker")
    creds = broker.add_node("bench")
    await broker.start()
    central = Central(central_config(dsn, broker, receipts={"workers": 0}))
    runner: web.AppRunner | None = None
    try:
        await central.start()
        port = free_port()
        sync = {
            "enabled": True,
            "port": broker.port,
            "username": creds.username,
            "password": creds.password,
        }
        app = await build_app(
            build_config(config_data(tmp / "node", node={"id": "bench"}, sync=sync))
        )
        token = (await app[TOKENS].create("bench"))[1]
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        photo = noisy_jpeg(megabytes)
        accept, deliver = [], []
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers=headers) as http:
            for _ in range(rounds):
                form = aiohttp.FormData()
                form.add_field("file", photo, filename="p.jpg", content_type="image/jpeg")
                started = time.perf_counter()
                async with http.post("/api/receipts", data=form) as r:
                    assert r.status == 202, await r.text()
                    receipt_id = (await r.json())["id"]
                accepted = time.perf_counter()
                while True:
                    async with http.get(f"/api/receipts/{receipt_id}") as r:
                        if (await r.json())["delivered"]:
                            break
                    await asyncio.sleep(0.01)  # ok: polls the node's view while it uploads
                deliver.append(time.perf_counter() - accepted)
                accept.append(accepted - started)
        return {
            "photo_bytes": len(photo),
            "accept_ms": round(statistics.median(accept) * 1000, 1),
            "deliver_s": round(statistics.median(deliver), 2),
            "deliver_mb_per_s": round(len(photo) / 1e6 / statistics.median(deliver), 2),
        }
    finally:
        if runner is not None:
            await runner.cleanup()
        await central.close()
        broker.close()


def main() -> None:
    """Print the figures as JSON."""
    with tempfile.TemporaryDirectory() as tmp, temporary_database("kitchen_bench_rt") as dsn:
        result = asyncio.run(measure(dsn, Path(tmp)))
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
