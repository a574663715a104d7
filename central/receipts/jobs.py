"""The durable reading queue in PostgreSQL, and the worker that empties it.

A worker claims the oldest ready job with ``FOR UPDATE SKIP LOCKED`` (two central processes
never take the same one) and holds a lease it renews while the reader works. A job whose lease
ran out belonged to a central that died: any worker takes it again; a restarted central takes
back at once the jobs its previous run held. Each claim counts as an attempt, a crash
included, so a receipt that kills its reader fails after ``max_attempts`` with a reason a
person understands instead of looping. Results are written only by the lease holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from central.receipts.store import VIEW_SQL, ReceiptStore, build_view

log = logging.getLogger(__name__)

_DB_DOWN = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job: its receipt and how many times it was claimed, this time included."""

    receipt_id: str
    attempts: int
    last_error: str | None


class JobQueue:
    """Claims, renews and finishes jobs for one owner (``instance:session``)."""

    def __init__(self, pool: asyncpg.Pool, owner: str, lease_seconds: float) -> None:
        self.pool = pool
        self.owner = owner
        self.lease = lease_seconds

    async def claim(self) -> Job | None:
        """The oldest job that is ready, or whose holder's lease ran out; None if none."""
        row = await self.pool.fetchrow(
            """
            WITH next AS (
                SELECT receipt_id FROM receipt_jobs
                WHERE (state = 'waiting' AND not_before <= now())
                   OR (state = 'running' AND lease_until < now())
                ORDER BY queued_pos
                LIMIT 1
                FOR UPDATE SKIP LOCKED
            )
            UPDATE receipt_jobs j
            SET state = 'running', attempts = j.attempts + 1, owner = $1,
                lease_until = now() + make_interval(secs => $2)
            FROM next WHERE j.receipt_id = next.receipt_id
            RETURNING j.receipt_id, j.attempts, j.last_error
            """,
            self.owner,
            self.lease,
        )
        if row is None:
            return None
        return Job(str(row["receipt_id"]), int(row["attempts"]), row["last_error"])

    async def renew(self, receipt_id: str) -> bool:
        """Extend the lease; False if the job is no longer ours."""
        result = await self.pool.execute(
            "UPDATE receipt_jobs SET lease_until = now() + make_interval(secs => $3)"
            " WHERE receipt_id = $1 AND owner = $2 AND state = 'running'",
            receipt_id,
            self.owner,
            self.lease,
        )
        return bool(result.endswith(" 1"))

    async def take_back(self, instance: str) -> int:
        """Put back the jobs an earlier run of this instance held when it stopped."""
        result = await self.pool.execute(
            "UPDATE receipt_jobs SET state = 'waiting', lease_until = NULL, owner = NULL"
            " WHERE state = 'running' AND owner LIKE $1 AND owner <> $2",
            instance.replace("%", r"\%").replace("_", r"\_") + ":%",
            self.owner,
        )
        count = int(result.split()[-1])
        if count:
            log.info("took back %d receipt job(s) left running by a previous run", count)
        return count

    async def complete(self, receipt_id: str, draft: dict[str, Any]) -> dict[str, Any] | None:
        """Store what was read; the receipt is ``completed``. None if the job is not ours."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await self._finish(conn, receipt_id, "done", None):
                return None
            await conn.execute(
                "UPDATE receipts SET status = 'completed', draft = $2, error = NULL,"
                " revision = revision + 1, updated_at = now()"
                " WHERE id = $1 AND NOT deleted AND status = 'processing'",
                receipt_id,
                json.dumps(draft, ensure_ascii=False),
            )
            return await _view(conn, receipt_id)

    async def fail(self, receipt_id: str, reason: str) -> dict[str, Any] | None:
        """The receipt cannot be read: ``failed`` with ``reason``. None if not ours."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await self._finish(conn, receipt_id, "failed", reason):
                return None
            await conn.execute(
                "UPDATE receipts SET status = 'failed', error = $2, revision = revision + 1,"
                " updated_at = now() WHERE id = $1 AND NOT deleted AND status = 'processing'",
                receipt_id,
                reason,
            )
            return await _view(conn, receipt_id)

    async def retry(self, receipt_id: str, reason: str, after: float) -> None:
        """This attempt failed; the job waits ``after`` seconds for the next."""
        await self.pool.execute(
            "UPDATE receipt_jobs SET state = 'waiting', owner = NULL, lease_until = NULL,"
            " last_error = $3, not_before = now() + make_interval(secs => $4)"
            " WHERE receipt_id = $1 AND owner = $2 AND state = 'running'",
            receipt_id,
            self.owner,
            reason,
            after,
        )

    async def _finish(
        self, conn: asyncpg.Connection, receipt_id: str, state: str, reason: str | None
    ) -> bool:
        result = await conn.execute(
            "UPDATE receipt_jobs SET state = $3, last_error = coalesce($4, last_error),"
            " lease_until = NULL WHERE receipt_id = $1 AND owner = $2 AND state = 'running'",
            receipt_id,
            self.owner,
            state,
            reason,
        )
        if not result.endswith(" 1"):
            log.warning(
                "receipt %s: the job is no longer ours (lease lost); result dropped", receipt_id
            )
            return False
        return True

    async def counts(self) -> dict[str, int]:
        """Jobs per state (for health)."""
        rows = await self.pool.fetch("SELECT state, count(*) AS n FROM receipt_jobs GROUP BY state")
        counts = {"waiting": 0, "running": 0, "done": 0, "failed": 0}
        counts.update({r["state"]: int(r["n"]) for r in rows})
        return counts


async def _view(conn: asyncpg.Connection, receipt_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(VIEW_SQL + " WHERE r.id = $1 AND NOT r.deleted", receipt_id)
    return build_view(row) if row else None


#: Reasons of a ReadFailed that say nothing about the receipt (the reading process died or
#: could not start): such an attempt is tried again, up to max_attempts.
_TRANSIENT = ("stopped unexpectedly", "could not start its worker")


def _transient(exc: Exception) -> bool:
    if getattr(exc, "transient", False):
        return True
    reason = str(getattr(exc, "reason", exc))
    return any(phrase in reason for phrase in _TRANSIENT)


class ReceiptWorker:
    """Reads queued receipts with ``reader`` (a ``ReceiptReader``), ``workers`` at a time.

    ``publish`` receives each new view (completed or failed) after its commit.
    """

    def __init__(
        self,
        queue: JobQueue,
        store: ReceiptStore,
        reader: Any,
        publish: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        workers: int = 1,
        max_attempts: int = 3,
        retry_seconds: float = 30.0,
        poll_interval: float = 5.0,
        read_timeout: float = 300.0,
        prepare: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None,
    ) -> None:
        self.queue = queue
        self.store = store
        self.reader = reader
        self.publish = publish
        self.workers = workers
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.poll_interval = poll_interval
        self.read_timeout = read_timeout
        # Adds what the draft needs besides the reading (product suggestions).
        self.prepare = prepare
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.read = 0

    @property
    def running(self) -> int:
        """Worker tasks running."""
        return sum(not t.done() for t in self._tasks)

    def start(self) -> None:
        """Start the worker tasks (none without a reader)."""
        if self.reader is None:
            return
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"receipt-worker-{i}")
            for i in range(self.workers)
        ]

    def wake(self) -> None:
        """A job was queued: look now."""
        self._wake.set()

    async def close(self) -> None:
        """Stop; a job being read is taken back by the next start (or another central)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _loop(self) -> None:
        while True:
            try:
                job = await self.queue.claim()
            except _DB_DOWN as exc:
                log.warning("receipt queue unavailable: %s", exc)
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                self._wake.clear()
                continue
            try:
                await self.process(job)
            except _DB_DOWN as exc:
                # The lease runs out and the job is taken again; nothing is lost.
                log.warning(
                    "receipt %s: database unavailable while reading: %s", job.receipt_id, exc
                )
            except Exception:
                # The worker outlives a bad job; its lease runs out and it is tried again.
                log.exception("receipt %s: the worker failed", job.receipt_id)

    async def process(self, job: Job) -> None:
        """Read one claimed job and record the outcome."""
        if job.attempts > self.max_attempts:
            reason = (
                f"reading stopped {job.attempts - 1} times without a result (central was "
                "stopped or ran out of memory while reading)"
            )
            if job.last_error:
                reason += f"; last error: {job.last_error}"
            await self._publish(await self.queue.fail(job.receipt_id, reason))
            return
        log.info("reading receipt %s (attempt %d)", job.receipt_id, job.attempts)
        keeper = asyncio.create_task(self._keep_lease(job.receipt_id), name="receipt-lease")
        try:
            files = await self.store.files(job.receipt_id)
            view = await self._read(job, files)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        await self._publish(view)

    async def _read(self, job: Job, files: list[tuple[str, bytes]]) -> dict[str, Any] | None:
        """Run the reader; record the outcome; return the view to publish (if any)."""
        from central.receipts.draft import ReadFailed

        try:
            async with asyncio.timeout(self.read_timeout):
                draft = await self.reader.read(files)
        except ReadFailed as exc:
            if not _transient(exc):
                return await self.queue.fail(job.receipt_id, exc.reason)
            return await self._attempt_failed(job, exc.reason)
        except Exception as exc:
            # TimeoutError here is the reading's own limit (asyncio.timeout above).
            reason = (
                f"reading took longer than {self.read_timeout:g} s"
                if isinstance(exc, TimeoutError)
                else f"the reader failed: {type(exc).__name__}: {exc}"
            )
            return await self._attempt_failed(job, reason)
        self.read += 1
        result = draft.to_dict()
        if self.prepare is not None:
            result = await self.prepare(result)
        return await self.queue.complete(job.receipt_id, result)

    async def _attempt_failed(self, job: Job, reason: str) -> dict[str, Any] | None:
        """Try again later, or fail for good once the attempts are used up."""
        log.warning("receipt %s attempt %d failed: %s", job.receipt_id, job.attempts, reason)
        if job.attempts >= self.max_attempts:
            return await self.queue.fail(
                job.receipt_id, f"could not be read after {job.attempts} attempts: {reason}"
            )
        await self.queue.retry(job.receipt_id, reason, self.retry_seconds * job.attempts)
        return None

    async def _publish(self, view: dict[str, Any] | None) -> None:
        if view is not None:
            await self.publish(view)

    async def _keep_lease(self, receipt_id: str) -> None:
        while True:
            await asyncio.sleep(self.queue.lease / 3)
            try:
                if not await self.queue.renew(receipt_id):
                    return
            except _DB_DOWN as exc:
                log.warning("receipt %s: lease not renewed: %s", receipt_id, exc)
