"""close() stops the sync client whatever its sender was doing when the cancel arrived.

The sender waits for a nudge with a timeout. With ``asyncio.wait_for`` on Python 3.11, a nudge
and a cancel landing in the same loop step made ``wait_for`` return instead of raising, so the
sender's loop went on and ``close()`` waited for it forever (a CI run hung here for five
minutes). The test lands the cancel a varying number of loop steps after the nudge, so one of
them hits that step.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from appliance.store import Store
from appliance.sync.client import SyncClient
from appliance.sync.config import SyncConfig
from tests.fakes.broker import free_port


async def test_close_right_after_a_nudge_always_returns(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "kitchen.sqlite3", "node-a")
    try:
        config = SyncConfig(enabled=True, host="127.0.0.1", port=free_port(), poll_interval=0.2)
        for steps in range(8):
            client = SyncClient(config, "node-a", "home", store, lambda _: None, lambda _: None)
            await client.start()
            client.notify()
            for _ in range(steps):
                await asyncio.sleep(0)  # ok: yields single loop steps, the point of the test
            closing = asyncio.ensure_future(client.close())
            done, _ = await asyncio.wait({closing}, timeout=10)
            assert done, f"close() hung when the cancel came {steps} loop steps after a nudge"
            await closing
    finally:
        await store.close()
