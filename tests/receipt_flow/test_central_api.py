"""Central's receipt API and health, and two centrals sharing the reading."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from central.app import Central
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.receipt_flow import files
from tests.receipt_flow.flow import central_ws, running_central
from tests.receipt_flow.helpers import row
from tests.receipt_flow.reader import ScriptedReader
from tests.receipt_flow.test_node_capture import form


async def call(
    central: Central, method: str, path: str, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    """One request to central; (status, JSON or bytes, response)."""
    async with (
        aiohttp.ClientSession(headers=await central_headers(central)) as http,
        http.request(method, f"http://127.0.0.1:{central.port}{path}", **kwargs) as resp,
    ):
        body: Any = await resp.read()
        if resp.content_type.endswith("json"):
            body = await resp.json(content_type=None)
        if resp.status >= 400:
            assert resp.content_type == "application/problem+json", body
            assert body["detail"], body
        return resp.status, body, resp


async def test_central_takes_reads_serves_and_deletes_a_receipt(dsn: str, broker: Broker) -> None:
    pdf = files.pdf(1)
    async with running_central(dsn, broker, ScriptedReader()) as central:
        status, health, _ = await call(central, "GET", "/api/health")
        assert health["receipts"]["ocr"] == "ok" and health["receipts"]["workers"] == 1
        async with central_ws(central) as ws:
            status, answer, _ = await call(
                central, "POST", "/api/receipts", data=form(("ebon.pdf", pdf, "application/pdf"))
            )
            assert status == 202 and answer["status"] == "processing"
            receipt_id = answer["id"]
            await ws.wait_for("receipt.processing", within=10)
            done = await ws.wait_for("receipt.completed", within=10)
            assert done["entity_id"] == receipt_id
        status, view, _ = await call(central, "GET", f"/api/receipts/{receipt_id}")
        assert view["status"] == "completed" and view["origin"] == "central"
        assert view["merchant"] == "REWE" and view["date"] == "2026-11-28"
        assert view["files"] == [{"index": 0, "content_type": "application/pdf", "size": len(pdf)}]
        status, listed, _ = await call(central, "GET", "/api/receipts?status=completed")
        assert [r["id"] for r in listed["items"]] == [receipt_id]
        status, data, resp = await call(central, "GET", f"/api/receipts/{receipt_id}/image")
        assert status == 200 and resp.content_type == "application/pdf" and data == pdf
        status, _, _ = await call(central, "DELETE", f"/api/receipts/{receipt_id}")
        assert status == 204
        for path in (f"/api/receipts/{receipt_id}", f"/api/receipts/{receipt_id}/image"):
            status, _, _ = await call(central, "GET", path)
            assert status == 404


async def test_central_refuses_bad_uploads_with_4xx(dsn: str, broker: Broker) -> None:
    async with running_central(dsn, broker, ScriptedReader(), max_files=2) as central:
        jpeg = files.jpeg()
        cases = [
            (form(("x.jpg", files.zip_named_jpg(), "image/jpeg")), 415),
            (form(("x.png", files.png_bomb(), "image/png")), 422),
            (form(("x.pdf", files.pdf(11), "application/pdf")), 422),
            (form(*[("p.jpg", jpeg, "image/jpeg")] * 3), 413),
            (aiohttp.FormData({"a": "b"}), 415),
        ]
        for body, expected in cases:
            status, problem, _ = await call(central, "POST", "/api/receipts", data=body)
            assert status == expected, problem
        for path, expected in (
            ("/api/receipts?status=lost", 422),
            ("/api/receipts/nope", 404),
            ("/api/receipts/01938a5e-0000-7000-8000-000000000009", 404),
            ("/api/receipts/01938a5e-0000-7000-8000-000000000009/image?index=x", 422),
        ):
            status, _, _ = await call(central, "GET", path)
            assert status == expected, path
        assert await row(dsn, "SELECT 1 FROM receipts") is None


async def test_without_ocr_receipts_are_kept_and_health_says_so(dsn: str, broker: Broker) -> None:
    async with running_central(dsn, broker, None, workers=0) as central:
        _, health, _ = await call(central, "GET", "/api/health")
        assert health["receipts"]["ocr"] == "unavailable"
        status, answer, _ = await call(
            central, "POST", "/api/receipts", data=form(("bon.jpg", files.jpeg(), "image/jpeg"))
        )
        assert status == 202
        _, health, _ = await call(central, "GET", "/api/health")
        assert health["receipts"]["jobs"]["waiting"] == 1
    # A central that can read finds the job waiting.
    async with running_central(dsn, broker, ScriptedReader()) as central:

        async def read() -> bool:
            _, view, _ = await call(central, "GET", f"/api/receipts/{answer['id']}")
            return bool(view["status"] == "completed")

        await until(read, 20, "the kept receipt to be read")


async def test_a_degraded_reader_is_reported(dsn: str, broker: Broker) -> None:
    async with running_central(dsn, broker, ScriptedReader(health="degraded")) as central:
        _, health, _ = await call(central, "GET", "/api/health")
        assert health["receipts"]["ocr"] == "degraded"


async def test_two_centrals_share_the_reading_and_read_each_receipt_once(
    dsn: str, broker: Broker
) -> None:
    gate = asyncio.Event()
    first, second = ScriptedReader(gate=gate), ScriptedReader(gate=gate)
    async with (
        running_central(dsn, broker, first, instance="central-1") as one,
        running_central(dsn, broker, second, instance="central-2") as two,
    ):
        ids = []
        for n in range(6):
            status, answer, _ = await call(
                one,
                "POST",
                "/api/receipts",
                data=form(("b.jpg", files.jpeg(text=str(n)), "image/jpeg")),
            )
            assert status == 202
            ids.append(answer["id"])
        # Each central holds one job while the gate is shut: they share the queue.
        await first.started.wait()
        await second.started.wait()
        gate.set()

        async def all_read() -> bool:
            _, listed, _ = await call(two, "GET", "/api/receipts?status=completed")
            return len(listed["items"]) == 6

        await until(all_read, 30, "every receipt to be read")
        assert len(first.calls) + len(second.calls) == 6
        assert first.calls and second.calls
        jobs = await row(dsn, "SELECT count(*) AS n, max(attempts) AS most FROM receipt_jobs")
        assert (jobs["n"], jobs["most"]) == (6, 1)
