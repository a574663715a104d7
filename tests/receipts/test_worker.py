"""ReceiptReader: a real worker process, its health, and what happens when it dies, hogs
memory or takes too long."""

from __future__ import annotations

import asyncio
import os
import signal
from decimal import Decimal

import pytest

from central.receipts.draft import ReadFailed
from central.receipts.worker import ReceiptReader
from tests.receipts.synth import REWE_LAYOUT, encode, photo, render, text_pdf

PHOTO = encode(photo(render(REWE_LAYOUT)))
PDF = text_pdf([f"{left:<28}{right:>10}" for left, right in REWE_LAYOUT])


async def test_reads_in_a_worker_with_health_ok_and_figures() -> None:
    async with ReceiptReader() as reader:
        assert await reader.health() == "ok"  # the bundled sample was read at start
        pid = reader._proc.pid if reader._proc else None
        draft = await reader.read([("image/jpeg", PHOTO)])
        assert draft.total == Decimal("4.26") and draft.consistent
        assert 0 < reader.stats.seconds < 60
        assert 50e6 < reader.stats.peak_rss < 1.5e9
        pdf = await reader.read([("application/pdf", PDF)])
        assert pdf.source == "pdf-text" and pdf.total == Decimal("4.26")
        assert reader._proc is not None and reader._proc.pid == pid  # one worker, model kept
    assert reader._proc is None


async def test_a_worker_that_dies_mid_job_fails_the_job_and_is_restarted() -> None:
    async with ReceiptReader() as reader:
        assert reader._proc is not None
        first = reader._proc.pid
        job = asyncio.create_task(reader.read([("image/jpeg", PHOTO)] * 3))
        await reader._sent.wait()
        os.kill(first, signal.SIGKILL)
        with pytest.raises(ReadFailed, match="stopped unexpectedly"):
            await job
        assert reader.stats.restarts == 1
        assert reader._proc is not None and reader._proc.pid != first
        draft = await reader.read([("application/pdf", PDF)])
        assert draft.total == Decimal("4.26")


async def test_memory_cap_stops_the_worker_and_fails_the_job() -> None:
    # The model alone needs more than this: every photo passes the cap.
    async with ReceiptReader(memory_cap=120_000_000) as reader:
        assert await reader.health() == "degraded"
        with pytest.raises(ReadFailed, match="more than 120 MB"):
            await reader.read([("image/jpeg", PHOTO)])
        assert reader.stats.restarts >= 2  # the health sample and this job


async def test_a_job_over_the_time_limit_is_stopped() -> None:
    async with ReceiptReader(timeout=0.05) as reader:
        assert await reader.health() == "degraded"
        with pytest.raises(ReadFailed, match=r"longer than 0\.05 s"):
            await reader.read([("image/jpeg", PHOTO)])


async def test_without_ocr_text_pdfs_are_still_read() -> None:
    async with ReceiptReader(ocr=False) as reader:
        assert await reader.health() == "degraded"
        assert (await reader.read([("application/pdf", PDF)])).total == Decimal("4.26")
        with pytest.raises(ReadFailed, match="OCR is switched off"):
            await reader.read([("image/jpeg", PHOTO)])


async def test_no_worker_is_unavailable_and_says_so() -> None:
    async with ReceiptReader(python="/nonexistent/python3") as reader:
        assert await reader.health() == "unavailable"
        with pytest.raises(ReadFailed, match="could not start"):
            await reader.read([("application/pdf", PDF)])


async def test_a_closed_reader_refuses_jobs() -> None:
    reader = ReceiptReader(ocr=False)
    await reader.start()
    await reader.close()
    with pytest.raises(ReadFailed, match="closed"):
        await reader.read([("application/pdf", PDF)])


async def test_a_cancelled_job_does_not_leave_its_answer_for_the_next() -> None:
    async with ReceiptReader() as reader:
        job = asyncio.create_task(reader.read([("image/jpeg", PHOTO)] * 2))
        await reader._sent.wait()
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        draft = await reader.read([("application/pdf", PDF)])
        assert draft.source == "pdf-text"  # its own answer, not the photo's
