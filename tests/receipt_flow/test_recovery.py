"""A receipt being read when its central stops is read again: at once by the same instance
after a restart, or by another central once the lease has run out."""

from __future__ import annotations

import asyncio

from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.receipt_flow import files
from tests.receipt_flow.flow import running_central
from tests.receipt_flow.helpers import row
from tests.receipt_flow.reader import ScriptedReader
from tests.receipt_flow.test_central_api import call
from tests.receipt_flow.test_node_capture import form


async def _stuck_receipt(dsn: str, broker: Broker, instance: str, lease: float) -> str:
    """A receipt whose reading was under way on ``instance`` when it stopped."""
    stuck = ScriptedReader(gate=asyncio.Event())  # never finishes
    async with running_central(dsn, broker, stuck, instance=instance, lease_seconds=lease) as c:
        status, answer, _ = await call(
            c, "POST", "/api/receipts", data=form(("b.jpg", files.jpeg(), "image/jpeg"))
        )
        assert status == 202
        await stuck.started.wait()
    # Stopped mid-reading: the job is still marked running for the old process.
    job = await row(dsn, "SELECT state, owner, attempts FROM receipt_jobs")
    assert job["state"] == "running" and job["owner"].startswith(f"{instance}:")
    return str(answer["id"])


async def test_a_restarted_central_reads_its_interrupted_receipt_at_once(
    dsn: str, broker: Broker
) -> None:
    receipt_id = await _stuck_receipt(dsn, broker, "central-1", lease=600)
    reader = ScriptedReader()
    async with running_central(dsn, broker, reader, instance="central-1", lease_seconds=600) as c:

        async def read() -> bool:
            _, view, _ = await call(c, "GET", f"/api/receipts/{receipt_id}")
            return bool(view["status"] == "completed")

        await until(read, 20, "the interrupted receipt to be read")  # far below the lease
    assert len(reader.calls) == 1
    job = await row(dsn, "SELECT state, attempts FROM receipt_jobs")
    assert (job["state"], job["attempts"]) == ("done", 2)


async def test_another_central_takes_over_when_the_lease_runs_out(dsn: str, broker: Broker) -> None:
    receipt_id = await _stuck_receipt(dsn, broker, "central-1", lease=1.0)
    reader = ScriptedReader()
    async with running_central(dsn, broker, reader, instance="central-2") as c:

        async def read() -> bool:
            _, view, _ = await call(c, "GET", f"/api/receipts/{receipt_id}")
            return bool(view["status"] == "completed")

        await until(read, 20, "central-2 to read the receipt")
    job = await row(dsn, "SELECT state, owner FROM receipt_jobs")
    assert job["state"] == "done" and job["owner"].startswith("central-2:")
