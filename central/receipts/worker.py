"""``ReceiptReader``: receipts read in a worker process, never on the event loop.

The worker loads the OCR model once and reads one job at a time. Its resident memory is
watched while a job runs; past the cap, or past the time limit, or when it dies, the worker is
killed and started again, and the job fails with a reason (the caller counts attempts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

from appliance.uploads import UploadLimits
from central.receipts.draft import ReadFailed, ReceiptDraft

log = logging.getLogger(__name__)

Health = Literal["ok", "degraded", "unavailable"]

# What the bundled sample says; health is "ok" only when it reads exactly this.
SAMPLE_TOTAL = Decimal("4.47")
SAMPLE_LINES = 3


def sample_image() -> bytes:
    """The tiny bundled receipt photo that health reads."""
    return (resources.files("central.receipts") / "assets" / "health-sample.png").read_bytes()


@dataclass
class ReadStats:
    """Figures of the last job: seconds in the worker (wall and CPU) and its peak memory."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss: int = 0
    restarts: int = 0
    history: list[tuple[float, int]] = field(default_factory=list)


class ReceiptReader:
    """Reads receipts in a worker process: model loaded once, one job at a time, memory cap."""

    def __init__(
        self,
        *,
        limits: UploadLimits | None = None,
        memory_cap: int = 1_000_000_000,
        timeout: float = 60.0,
        threads: int = 2,
        health_budget: float = 10.0,
        ocr: bool = True,
        python: str = sys.executable,
    ) -> None:
        self.limits = limits or UploadLimits()
        self.memory_cap = memory_cap
        self.timeout = timeout
        self.threads = threads
        self.health_budget = health_budget
        self.ocr = ocr  # False: only text PDFs are read (a small central that has no room)
        self.python = python
        self.stats = ReadStats()
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._health: Health | None = None
        self._ocr_error: str | None = None
        self._closed = False
        self._sent = asyncio.Event()  # set while a job is with the worker

    async def start(self) -> None:
        """Start the worker and read the bundled sample once (health is cached)."""
        async with self._lock:
            await self._spawn()
        self._health = await self._check_health()
        log.info("receipt reading health: %s", self._health)

    async def health(self) -> Health:
        """``ok`` (OCR reads the sample), ``degraded`` (it misreads or is slow, or OCR is
        missing and only text PDFs are read), ``unavailable`` (no worker)."""
        if self._health is None:
            return "unavailable"
        if self._proc is None or self._proc.returncode is not None:
            # A worker that died is started again with the next job; until then, say so.
            return "degraded" if self._health == "ok" else self._health
        return self._health

    async def read(self, files: list[tuple[str, bytes]]) -> ReceiptDraft:
        """Read one receipt from its files (content type, bytes); ReadFailed with a reason."""
        answer = await self._job({"op": "read", "files": list(files)})
        if not answer.get("ok"):
            raise ReadFailed(str(answer.get("reason", "the receipt could not be read")))
        return ReceiptDraft.from_dict(answer["draft"])

    async def close(self) -> None:
        """Stop the worker."""
        self._closed = True
        async with self._lock:
            await self._stop()

    async def __aenter__(self) -> ReceiptReader:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _check_health(self) -> Health:
        if self._proc is None:
            return "unavailable"
        if self._ocr_error is not None:
            return "degraded"
        try:
            draft = await self.read([("image/png", sample_image())])
        except ReadFailed as exc:
            log.warning("the OCR health sample failed: %s", exc.reason)
            return "degraded"
        if draft.total != SAMPLE_TOTAL or len(draft.lines) != SAMPLE_LINES:
            log.warning("the OCR health sample read wrong: total %s", draft.total)
            return "degraded"
        if self.stats.seconds > self.health_budget:
            log.warning("the OCR health sample took %.1f s", self.stats.seconds)
            return "degraded"
        return "ok"

    async def _spawn(self) -> None:
        env = dict(os.environ)
        # glibc's per-thread arenas hold on to freed memory; two keep the peak low.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        env.update(
            RECEIPT_MAX_BYTES=str(self.limits.max_bytes),
            RECEIPT_MAX_PIXELS=str(self.limits.max_pixels),
            RECEIPT_MAX_PDF_PAGES=str(self.limits.max_pdf_pages),
            RECEIPT_OCR_THREADS=str(self.threads),
            OMP_NUM_THREADS=str(self.threads),
            RECEIPT_OCR="on" if self.ocr else "off",
        )
        try:
            proc = await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                "central.receipts.worker_process",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
                limit=2**20,
            )
        except OSError as exc:
            log.error("the receipt worker could not start: %s", exc)
            self._proc = None
            return
        try:
            async with asyncio.timeout(120):
                hello = await self._recv(proc)
        except (TimeoutError, asyncio.IncompleteReadError, EOFError):
            log.error("the receipt worker did not come up")
            await self._kill(proc)
            self._proc = None
            return
        self._ocr_error = None if hello.get("ocr") == "ok" else str(hello.get("ocr"))
        if self._ocr_error:
            log.warning("receipt OCR unavailable: %s", self._ocr_error)
        self._proc = proc

    async def _job(self, job: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            if self._closed:
                raise ReadFailed("the receipt reader is closed")
            if self._proc is None or self._proc.returncode is not None:
                await self._stop()
                await self._spawn()
            proc = self._proc
            if proc is None:
                raise ReadFailed("the receipt reader could not start its worker process")
            try:
                self._send(proc, job)
                self._sent.set()
                async with asyncio.timeout(self.timeout):
                    assert proc.stdin is not None
                    await proc.stdin.drain()  # photos of 20 MB go through the pipe in turn
                    answer = await self._answer_within_cap(proc)
            except TimeoutError:
                await self._restart(proc)
                raise ReadFailed(
                    f"reading took longer than {self.timeout:g} s and was stopped"
                ) from None
            except MemoryCapExceeded:
                await self._restart(proc)
                raise ReadFailed(
                    f"reading needed more than {self.memory_cap / 1e6:.0f} MB of memory "
                    "and was stopped"
                ) from None
            except (asyncio.IncompleteReadError, EOFError, ConnectionError, BrokenPipeError):
                await self._restart(proc)
                raise ReadFailed("the reading process stopped unexpectedly") from None
            except asyncio.CancelledError:
                # The worker would answer this job later, in the next job's place: stop it;
                # the next job starts a fresh one.
                self._proc = None
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
                raise
            finally:
                self._sent.clear()
            self.stats.seconds = float(answer.get("seconds", 0.0))
            self.stats.cpu_seconds = float(answer.get("cpu_seconds", 0.0))
            self.stats.peak_rss = int(answer.get("peak_rss", 0))
            self.stats.history.append((self.stats.seconds, self.stats.peak_rss))
            return answer

    async def _answer_within_cap(self, proc: asyncio.subprocess.Process) -> dict[str, Any]:
        reply = asyncio.ensure_future(self._recv(proc))
        try:
            while True:
                # ok: the watchdog looks at the worker's memory ten times a second
                done, _ = await asyncio.wait({reply}, timeout=0.1)
                if done:
                    answer: dict[str, Any] = reply.result()
                    return answer
                if _rss(proc.pid) > self.memory_cap:
                    raise MemoryCapExceeded
        finally:
            if not reply.done():
                reply.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reply

    async def _restart(self, proc: asyncio.subprocess.Process) -> None:
        self.stats.restarts += 1
        await self._kill(proc)
        self._proc = None
        if not self._closed:
            await self._spawn()

    async def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None and proc.stdin is not None:
            proc.stdin.close()
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                pass
        await self._kill(proc)

    @staticmethod
    async def _kill(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
        if proc.stdin is not None:
            proc.stdin.close()

    @staticmethod
    def _send(proc: asyncio.subprocess.Process, message: Any) -> None:
        assert proc.stdin is not None
        body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        proc.stdin.write(struct.pack(">I", len(body)) + body)

    @staticmethod
    async def _recv(proc: asyncio.subprocess.Process) -> Any:
        assert proc.stdout is not None
        head = await proc.stdout.readexactly(4)
        (size,) = struct.unpack(">I", head)
        return pickle.loads(await proc.stdout.readexactly(size))


class MemoryCapExceeded(Exception):
    """The worker's resident memory passed the cap."""


def _rss(pid: int) -> int:
    """Resident memory of a process in bytes (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
