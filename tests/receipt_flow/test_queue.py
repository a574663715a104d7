"""Central's reading queue on the real PostgreSQL: SKIP LOCKED, leases, bounded attempts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from central.db.pool import open_pool
from central.receipts.draft import ReadFailed
from central.receipts.jobs import JobQueue, ReceiptWorker
from central.receipts.store import ReceiptStore
from tests.fakes.harness import until
from tests.receipt_flow.helpers import queued_receipt, row
from tests.receipt_flow.reader import ScriptedReader


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the test database."""
    pool = await open_pool(dsn, 1, 6)
    try:
        yield pool
    finally:
        await pool.close()


def worker(
    pool: asyncpg.Pool, reader: Any, views: list[dict[str, Any]], **opts: Any
) -> ReceiptWorker:
    """A worker whose published views land in ``views``."""

    async def publish(view: dict[str, Any]) -> None:
        views.append(view)

    queue = JobQueue(pool, opts.pop("owner", "central-1:test"), opts.pop("lease", 30.0))
    return ReceiptWorker(queue, ReceiptStore(pool), reader, publish, **opts)


async def test_two_queues_never_take_the_same_job(pool: asyncpg.Pool, tmp_path: Path) -> None:
    store = ReceiptStore(pool)
    ids = {await queued_receipt(store, tmp_path) for _ in range(24)}
    taken: dict[str, list[str]] = {"a": [], "b": []}

    async def drain(owner: str) -> None:
        queue = JobQueue(pool, f"{owner}:1", 60)
        while (job := await queue.claim()) is not None:
            taken[owner].append(job.receipt_id)

    await asyncio.gather(drain("a"), drain("b"), drain("a"), drain("b"))
    everything = taken["a"] + taken["b"]
    assert sorted(everything) == sorted(ids)  # each job once, none left
    assert len(set(everything)) == len(everything)


async def test_a_job_whose_lease_ran_out_is_taken_again(pool: asyncpg.Pool, tmp_path: Path) -> None:
    receipt = await queued_receipt(ReceiptStore(pool), tmp_path)
    dead = JobQueue(pool, "central-1:dead", 0.3)
    other = JobQueue(pool, "central-2:alive", 60)
    first = await dead.claim()
    assert first is not None and first.attempts == 1
    assert await other.claim() is None  # leased
    job = None

    async def taken() -> bool:
        nonlocal job
        job = await other.claim()
        return job is not None

    await until(taken, 10, "the expired lease to be taken over")
    assert job is not None and job.receipt_id == receipt and job.attempts == 2
    # The dead holder's late result is dropped: the job is no longer its own.
    assert await dead.complete(receipt, {"lines": []}) is None
    assert await other.renew(receipt)


async def test_a_restarted_central_takes_its_jobs_back_at_once(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = ReceiptStore(pool)
    mine = await queued_receipt(store, tmp_path)
    theirs = await queued_receipt(store, tmp_path)
    before = JobQueue(pool, "central-1:old-run", 600)
    assert (await before.claim()).receipt_id == mine  # type: ignore[union-attr]
    assert (await JobQueue(pool, "central-2:x", 600).claim()).receipt_id == theirs  # type: ignore[union-attr]
    after = JobQueue(pool, "central-1:new-run", 600)
    assert await after.take_back("central-1") == 1
    job = await after.claim()
    assert job is not None and job.receipt_id == mine and job.attempts == 2
    assert await after.claim() is None  # central-2's job is still leased to it


async def test_failed_attempts_are_bounded_then_the_receipt_fails(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    receipt = await queued_receipt(ReceiptStore(pool), tmp_path)
    reader = ScriptedReader(fail=[RuntimeError("model crashed")] * 3)
    views: list[dict[str, Any]] = []
    w = worker(pool, reader, views, max_attempts=3, retry_seconds=0, poll_interval=0.05)
    w.start()
    try:
        await until(lambda: bool(views), 20, "the receipt to fail")
    finally:
        await w.close()
    assert len(reader.calls) == 3
    assert views[-1]["status"] == "failed"
    assert "could not be read after 3 attempts" in views[-1]["error"]
    assert "model crashed" in views[-1]["error"]
    job = await row(pool_dsn(pool), "SELECT state, attempts FROM receipt_jobs")
    assert (job["state"], job["attempts"]) == ("failed", 3)
    assert views[-1]["id"] == receipt


async def test_an_unreadable_receipt_fails_at_once_with_the_readers_reason(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await queued_receipt(ReceiptStore(pool), tmp_path)
    reader = ScriptedReader(fail=[ReadFailed("this photo shows no receipt")])
    views: list[dict[str, Any]] = []
    w = worker(pool, reader, views, poll_interval=0.05)
    w.start()
    try:
        await until(lambda: bool(views), 20, "the receipt to fail")
    finally:
        await w.close()
    assert len(reader.calls) == 1
    assert (views[0]["status"], views[0]["error"]) == ("failed", "this photo shows no receipt")


async def test_a_receipt_that_keeps_killing_its_reader_fails_with_a_reason(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    receipt = await queued_receipt(ReceiptStore(pool), tmp_path)
    # Three centrals died while reading it: each claim counted, none finished.
    for run in range(3):
        dying = JobQueue(pool, f"central-{run}:x", 60)
        assert await dying.claim() is not None
        await pool.execute("UPDATE receipt_jobs SET lease_until = now() - interval '1 second'")
    reader = ScriptedReader()
    views: list[dict[str, Any]] = []
    w = worker(pool, reader, views, max_attempts=3, poll_interval=0.05)
    w.start()
    try:
        await until(lambda: bool(views), 20, "the receipt to fail")
    finally:
        await w.close()
    assert reader.calls == []  # not tried a fourth time
    assert views[0]["id"] == receipt and views[0]["status"] == "failed"
    assert "reading stopped 3 times" in views[0]["error"]


async def test_a_reading_that_takes_too_long_counts_as_a_failed_attempt(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await queued_receipt(ReceiptStore(pool), tmp_path)
    reader = ScriptedReader(gate=asyncio.Event())  # never opened
    views: list[dict[str, Any]] = []
    w = worker(pool, reader, views, max_attempts=1, read_timeout=0.3, poll_interval=0.05)
    w.start()
    try:
        await until(lambda: bool(views), 20, "the receipt to fail")
    finally:
        await w.close()
    assert "took longer than 0.3 s" in views[0]["error"]


async def test_the_lease_is_renewed_while_a_slow_reading_goes_on(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    receipt = await queued_receipt(ReceiptStore(pool), tmp_path)
    gate = asyncio.Event()
    reader = ScriptedReader(gate=gate)
    views: list[dict[str, Any]] = []
    w = worker(pool, reader, views, lease=0.6, poll_interval=0.05)
    w.start()
    other = JobQueue(pool, "central-2:waiting", 60)
    try:
        await reader.started.wait()
        # Three lease lengths later the job is still held: the holder renews it.
        for _ in range(6):
            await asyncio.sleep(0.3)  # ok: lets lease periods pass while the reading runs
            assert await other.claim() is None
        gate.set()
        await until(lambda: bool(views), 20, "the reading to finish")
    finally:
        await w.close()
    assert views[0]["id"] == receipt and views[0]["status"] == "completed"
    assert views[0]["merchant"] == "REWE" and views[0]["total"] == "3.48"
    assert [line["text"] for line in views[0]["lines"]] == ["BIO VOLLMILCH 3,8%", "BANANEN"]


def pool_dsn(pool: asyncpg.Pool) -> str:
    """The DSN the pool was opened with."""
    args = pool._connect_args  # type: ignore[attr-defined]
    return str(args[0])


async def test_a_reading_process_that_died_is_tried_again(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    receipt = await queued_receipt(ReceiptStore(pool), tmp_path)
    died = ReadFailed("the reading process stopped unexpectedly")
    reader = ScriptedReader(fail=[died, died])
    views: list[dict[str, Any]] = []
    w = worker(pool, reader, views, max_attempts=3, retry_seconds=0, poll_interval=0.05)
    w.start()
    try:
        await until(lambda: bool(views), 20, "the receipt to be read")
    finally:
        await w.close()
    assert len(reader.calls) == 3
    assert (views[0]["id"], views[0]["status"]) == (receipt, "completed")
