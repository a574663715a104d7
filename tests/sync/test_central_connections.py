"""Central's HTTP server has the node's connection protection (the same ``appliance.serving``)."""

from __future__ import annotations

import asyncio

import aiohttp

from central.app import Central
from central.config import HttpSection
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.fakes.stalled import close_all, closed_by_peer, open_stalled


async def test_central_limits_and_times_out_stalled_connections(dsn: str, broker: Broker) -> None:
    config = central_config(dsn, broker)
    http = HttpSection(
        host="127.0.0.1", port=0, max_connections_per_client=10, request_timeout_seconds=1.0
    )
    central = Central(config.model_copy(update={"http": http}))
    await central.start()
    try:
        assert central.port is not None
        stalled = await open_stalled(central.port, ["127.0.0.2"], 25)
        try:
            assert central.guard is not None
            assert central.guard.per_client == {"127.0.0.2": 10}
            url = f"http://127.0.0.1:{central.port}/api/health"
            async with aiohttp.ClientSession() as session, session.get(url) as resp:
                assert resp.status == 200
            # The 15 over the limit at once, the 10 admitted at the request timeout.
            async with asyncio.timeout(10):
                answers = await asyncio.gather(*(closed_by_peer(s) for s in stalled))
            assert answers == [b""] * 25
            refused = central.guard.stats()["refused"]
            assert refused == {"over the per-client limit": 15, "too slow to send a request": 10}
        finally:
            close_all(stalled)
    finally:
        await central.close()
