"""A node as a separate process, for kill -9 tests: scans until its own seq reaches a target.

``python -m tests.fakes.node_process DIR NAME PORT PASSWORD TARGET`` prints ``ACK <event_id>``
after each committed scan (what a user would have been told), then keeps syncing until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import cast

from central.credentials import NodeCredentials
from tests.fakes.broker import Broker
from tests.fakes.harness import Node


class _BrokerAddress:
    """What ``Node`` reads of a broker when the credentials are given: port and household."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.household = "home"


async def main(directory: Path, name: str, port: int, password: str, target: int) -> None:
    """Scan up to ``target``, then keep syncing."""
    creds = NodeCredentials(name, password, "home", "127.0.0.1", port)
    node = Node(name, directory, cast(Broker, _BrokerAddress(port)), creds=creds)
    await node.start()
    assert node.store is not None
    try:
        seq = (await node.store.version_vector()).get(name, 0)
        while seq < target:
            event = await node.scan(seq)
            seq = event.seq
            sys.stdout.write(f"ACK {event.event_id}\n")
            sys.stdout.flush()
            await asyncio.sleep(0.002)  # ok: pacing, so kill -9 lands mid-stream
        sys.stdout.write("DONE\n")
        sys.stdout.flush()
        await asyncio.Event().wait()
    finally:
        await node.stop()


if __name__ == "__main__":
    directory, name, port, password, target = sys.argv[1:6]
    asyncio.run(main(Path(directory), name, int(port), password, int(target)))
