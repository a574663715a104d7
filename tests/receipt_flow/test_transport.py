"""Node → central over the real Mosquitto: durable while central is away, resumed after a
cut, idempotent, and every status change seen live on the node and on central."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import asyncpg

from appliance.api.keys import CONFIG
from appliance.sync.receipt_protocol import CHUNK_BYTES, Chunk, FileInfo, Offer
from central.receipts.store import ReceiptStore
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.fakes.tcp_proxy import TcpProxy
from tests.node.helpers import NodeFactory
from tests.receipt_flow import files
from tests.receipt_flow.flow import UploadObserver, central_ws, running_central, syncing_node
from tests.receipt_flow.helpers import row
from tests.receipt_flow.reader import ScriptedReader
from tests.receipt_flow.test_node_capture import form, upload


async def test_a_receipt_taken_while_central_is_down_is_read_once_it_is_up(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    kitchen = await syncing_node(make_node, broker, "kitchen")
    ws = await kitchen.ws()
    photo = files.jpeg(text="REWE SUMME 3,48")
    answer = await upload(kitchen, form(("bon.jpg", photo, "image/jpeg")))
    receipt_id = answer["id"]
    assert (await kitchen.get(f"/api/receipts/{receipt_id}"))["status"] == "queued"
    reader = ScriptedReader()
    async with running_central(dsn, broker, reader) as central:
        async with central_ws(central) as dashboard:
            processing = await ws.wait_for("receipt.processing", within=20)
            assert processing["entity_id"] == receipt_id
            completed = await ws.wait_for("receipt.completed", within=20)
            assert completed["data"]["merchant"] == "REWE"
            seen = await dashboard.wait_for("receipt.completed", within=20)
            assert seen["entity_id"] == receipt_id
        view = await kitchen.get(f"/api/receipts/{receipt_id}")
        assert view["status"] == "completed" and view["delivered"] is True
        assert view["total"] == "3.48" and view["consistent"] is True
        assert [line["total"] for line in view["lines"]] == ["1.19", "2.29"]
        assert view["lines"][1]["unit_price"] == "1.49"
        assert view["lines"][0]["product_id"] is None and view["lines"][0]["suggestions"] == []
        # Central read exactly the bytes the node took.
        assert reader.calls == [[("image/jpeg", photo)]]
        stored = await row(dsn, "SELECT sha256, received, verified FROM receipt_files")
        assert stored["sha256"] == hashlib.sha256(photo).hexdigest()
        assert stored["received"] == len(photo) and stored["verified"]
        # A node that joins later learns the receipt from its retained state.
        other = await syncing_node(make_node, broker, "pantry")

        async def known() -> bool:
            items = (await other.get("/api/receipts"))["items"]
            return [(r["id"], r["status"]) for r in items] == [(receipt_id, "completed")]

        await until(known, 20, "the other node to learn the receipt")


async def test_an_upload_cut_midway_resumes_where_central_stands(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    proxy = TcpProxy("127.0.0.1", broker.port)
    await proxy.start()
    try:
        kitchen = await syncing_node(make_node, broker, "kitchen", port=proxy.port)
        photo = files.noisy_jpeg(2.0)
        chunks = math.ceil(len(photo) / CHUNK_BYTES)
        assert chunks >= 6
        async with (
            UploadObserver(broker, "kitchen") as observer,
            running_central(dsn, broker, ScriptedReader()) as central,
        ):
            answer = await upload(kitchen, form(("long.jpg", photo, "image/jpeg")))

            async def received() -> int:
                found = await row(dsn, "SELECT received FROM receipt_files")
                return int(found["received"]) if found else 0

            await until(lambda: _at_least(received, 2 * CHUNK_BYTES), 30, "a part to arrive")
            proxy.cut()
            held = await received()
            assert held < len(photo)
            proxy.restore()

            async def delivered() -> bool:
                view = await kitchen.get(f"/api/receipts/{answer['id']}")
                return bool(view["delivered"])

            await until(delivered, 30, "the upload to finish after the cut")
            stored = await central.receipts.store.files(answer["id"])  # type: ignore[union-attr]
            assert stored == [("image/jpeg", photo)]
        # Resumed, not restarted: no chunk was sent more than twice (once more at most, the
        # one in flight at the cut), and the offsets central held were not sent again later.
        sent = observer.chunks()
        assert len(set(sent)) == chunks
        assert all(sent.count(c) <= 2 for c in set(sent))
        assert len(sent) <= chunks + 2, sent
    finally:
        await proxy.close()


async def _at_least(value: object, least: int) -> bool:
    return int(await value()) >= least  # type: ignore[operator]


async def test_the_same_offer_and_chunk_twice_store_one_receipt(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        store = ReceiptStore(pool)
        data = files.noisy_jpeg(0.3)
        info = FileInfo(0, len(data), hashlib.sha256(data).hexdigest(), "image/jpeg")
        receipt = "01938a5e-0000-7000-8000-000000000001"
        offer = Offer(receipt, [info])
        assert (await store.offer("kitchen", offer)).received == [0]
        assert (await store.offer("kitchen", offer)).received == [0]
        first = Chunk(receipt, 0, 0, data[:CHUNK_BYTES])
        assert (await store.chunk("kitchen", first))[0].received == [CHUNK_BYTES]
        again, view = await store.chunk("kitchen", first)  # a resend: nothing new stored
        assert again.received == [CHUNK_BYTES] and view is None
        gap = Chunk(receipt, 0, 2 * CHUNK_BYTES, data[2 * CHUNK_BYTES : 3 * CHUNK_BYTES])
        assert (await store.chunk("kitchen", gap))[0].received == [CHUNK_BYTES]
        offset = CHUNK_BYTES
        while offset < len(data):
            progress, view = await store.chunk(
                "kitchen", Chunk(receipt, 0, offset, data[offset : offset + CHUNK_BYTES])
            )
            offset += CHUNK_BYTES
        assert progress.delivered and view is not None and view["status"] == "processing"
        # The whole receipt sent again after delivery: still one receipt, one job.
        assert (await store.offer("kitchen", offer)).delivered
        assert (await store.chunk("kitchen", first))[0].delivered
        counts = await pool.fetchrow(
            "SELECT (SELECT count(*) FROM receipts) AS r, (SELECT count(*) FROM receipt_jobs) AS j,"
            " (SELECT sum(length(data)) FROM receipt_chunks) AS b"
        )
        assert (counts["r"], counts["j"], counts["b"]) == (1, 1, len(data))
        # Another node may not add to it, and the same id with other files is refused.
        assert (await store.offer("pantry", offer)).final
        other = Offer(receipt, [FileInfo(0, 10, "0" * 64, "image/jpeg")])
        assert (await store.offer("kitchen", other)).final
    finally:
        await pool.close()


async def test_a_file_that_arrives_corrupted_is_sent_again(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        store = ReceiptStore(pool)
        data = files.jpeg()
        wrong = FileInfo(0, len(data), hashlib.sha256(b"other").hexdigest(), "image/jpeg")
        receipt = "01938a5e-0000-7000-8000-000000000002"
        await store.offer("kitchen", Offer(receipt, [wrong]))
        for attempt in range(1, 4):
            progress, view = await store.chunk("kitchen", Chunk(receipt, 0, 0, data))
            assert view is None and progress.error and "SHA-256" in progress.error
            assert progress.final is (attempt == 3)
        failed = await store.view(receipt)
        assert failed is not None and failed["status"] == "failed"
        assert "SHA-256" in failed["error"]
    finally:
        await pool.close()


async def test_deleting_on_a_node_deletes_everywhere(
    make_node: NodeFactory, broker: Broker, dsn: str, tmp_path: Path
) -> None:
    kitchen = await syncing_node(make_node, broker, "kitchen")
    pantry = await syncing_node(make_node, broker, "pantry")
    answer = await upload(kitchen, form(("bon.jpg", files.jpeg(), "image/jpeg")))
    receipt_id = answer["id"]
    async with running_central(dsn, broker, ScriptedReader()) as central:

        async def on_pantry(status: str | None) -> bool:
            items = (await pantry.get("/api/receipts"))["items"]
            return [r["status"] for r in items if r["id"] == receipt_id] == (
                [status] if status else []
            )

        await until(lambda: on_pantry("completed"), 20, "pantry to see the receipt")
        pantry_ws = await pantry.ws()
        await kitchen.delete(f"/api/receipts/{receipt_id}", expect=204)
        gone = await pantry_ws.wait_for("receipt.deleted", within=20)
        assert gone["entity_id"] == receipt_id
        await until(lambda: on_pantry(None), 20, "pantry to drop the receipt")
        assert await central.receipts.store.view(receipt_id) is None  # type: ignore[union-attr]
        tombstone = await row(dsn, "SELECT deleted, draft FROM receipts WHERE id = $1", receipt_id)
        assert tombstone["deleted"] and tombstone["draft"] is None
        assert await row(dsn, "SELECT 1 FROM receipt_chunks") is None


async def test_a_receipt_central_can_never_take_fails_on_the_node_with_the_reason(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    # The node accepts larger files than central: central's refusal must end the upload
    # (it was dead-lettered without an answer, and the node resent it forever).
    kitchen = await syncing_node(make_node, broker, "kitchen")
    answer = await upload(kitchen, form(("big.jpg", files.noisy_jpeg(0.3), "image/jpeg")))
    async with running_central(dsn, broker, ScriptedReader(), max_file_bytes=100_000):

        async def failed() -> bool:
            view = await kitchen.get(f"/api/receipts/{answer['id']}")
            return bool(view["status"] == "failed")

        await until(failed, 20, "the node to give the receipt up")
    view = await kitchen.get(f"/api/receipts/{answer['id']}")
    assert "central refused it" in view["error"] and "100000" in view["error"]
    assert await row(dsn, "SELECT 1 FROM dead_letter") is not None


async def test_an_upload_whose_rows_vanish_at_central_starts_again(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    # Central answering "unknown receipt" mid-upload made the node send chunk 0 again and
    # again without ever offering the receipt anew.
    kitchen = await syncing_node(make_node, broker, "kitchen")
    photo = files.noisy_jpeg(5.0)
    async with running_central(dsn, broker, ScriptedReader()):
        answer = await upload(kitchen, form(("long.jpg", photo, "image/jpeg")))

        async def received() -> int:
            found = await row(dsn, "SELECT received FROM receipt_files")
            return int(found["received"]) if found else 0

        await until(lambda: _at_least(received, 2 * CHUNK_BYTES), 30, "a part to arrive")
        await row(dsn, "DELETE FROM receipts RETURNING id")  # central forgot it

        async def delivered() -> bool:
            view = await kitchen.get(f"/api/receipts/{answer['id']}")
            return bool(view["delivered"])

        await until(delivered, 30, "the upload to start again and finish")
    stored = await row(dsn, "SELECT received, verified FROM receipt_files")
    assert (stored["received"], stored["verified"]) == (len(photo), True)


async def test_a_node_restarted_mid_upload_resumes_where_central_stands(
    make_node: NodeFactory, broker: Broker, dsn: str, tmp_path: Path
) -> None:
    proxy = TcpProxy("127.0.0.1", broker.port)
    await proxy.start()
    try:
        first = await syncing_node(make_node, broker, "kitchen", port=proxy.port)
        photo = files.noisy_jpeg(3.0)
        async with (
            UploadObserver(broker, "kitchen") as observer,
            running_central(dsn, broker, ScriptedReader()),
        ):
            answer = await upload(first, form(("long.jpg", photo, "image/jpeg")))

            async def received() -> int:
                found = await row(dsn, "SELECT received FROM receipt_files")
                return int(found["received"]) if found else 0

            await until(lambda: _at_least(received, 3 * CHUNK_BYTES), 30, "a part to arrive")
            proxy.cut()  # the node loses central mid-upload, then stops
            held = await received()
            before = len(observer.chunks())
            await first.client.close()
            # The same node (same data directory and login) starts again, broker reachable.
            again = await make_node(
                first.data_dir, node={"id": "kitchen"}, sync=_direct(first, broker)
            )

            async def delivered() -> bool:
                return bool((await again.get(f"/api/receipts/{answer['id']}"))["delivered"])

            await until(delivered, 30, "the restarted node to finish the upload")
        sent = observer.chunks()
        after_restart = sent[before:]
        assert after_restart
        # Nothing central held before the restart was sent again, beyond the one in flight.
        assert all(offset >= held - CHUNK_BYTES for _, offset in after_restart)
    finally:
        await proxy.close()


def _direct(node: object, broker: Broker) -> dict[str, object]:
    """The sync section of a node, pointed straight at the broker."""
    config = node.app[CONFIG].sync  # type: ignore[attr-defined]
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": broker.port,
        "username": config.username,
        "password": config.resolved_password(),
        "ack_timeout": 2.0,
        "poll_interval": 0.2,
        "reconnect_max": 0.5,
    }
