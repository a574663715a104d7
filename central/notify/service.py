"""The notifier: on each tick, read the facts, plan, claim, send, and retry what failed.

Driven by a clock that tests replace (``Clock``); the background loop only decides when the
next tick runs. Nothing is sent during quiet hours, retries included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

import asyncpg

from central.notify import store
from central.notify.facts import Facts
from central.notify.push import PushTarget, push_targets
from central.notify.rules import DIGEST, Candidate, Item, Notification, compose, plan, quiet
from central.notify.settings import NotifySettings
from central.notify.targets import (
    AppriseTarget,
    HaTarget,
    Publish,
    TargetError,
    apprise_targets,
)

log = logging.getLogger(__name__)
Target = AppriseTarget | HaTarget | PushTarget
_DB_DOWN = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)

#: Reads the household's facts at ``now`` (see ``central.notify.gather``).
Gather = Callable[[asyncpg.Pool, datetime, NotifySettings], Awaitable[Facts]]


class Clock(Protocol):
    """Where "now" comes from: central's clock (NTP), timezone-aware."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        """The current time."""
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Tuning:
    """How often to look, how to retry (``[notify]`` in central's configuration)."""

    interval: float = 60.0
    retry: timedelta = timedelta(seconds=60)
    retry_max: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=2)
    send_timeout: float = 30.0
    # How far back a claim still counts as "already sent" for a subject.
    memory: timedelta = timedelta(days=60)
    config_urls: tuple[str, ...] = ()
    # The VAPID "sub" claim: who the push service can contact about this sender.
    vapid_subject: str = "mailto:kitchen@example.org"


@dataclass(slots=True)
class TickReport:
    """What one tick did (for logs and tests)."""

    sent: list[str] = field(default_factory=list)  # "event_type -> target"
    failed: list[str] = field(default_factory=list)
    quiet: bool = False


def backoff(tuning: Tuning, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: doubling from ``retry``, capped."""
    wait: timedelta = tuning.retry * (1 << min(max(attempts - 1, 0), 30))
    return min(wait, tuning.retry_max)


def claimed_notification(candidate: Candidate, won: set[str]) -> Notification:
    """The message of ``candidate`` limited to the subjects this process claimed."""
    if candidate.rule == DIGEST:
        return compose(DIGEST, [], [(r, list(items)) for r, items in candidate.sections])
    items: list[Item] = [i for i in candidate.items if i.subject in won]
    return compose(candidate.rule, items, [])


class Notifier:
    """One household's notifications, in one central process (several may run at once)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        household: str,
        instance: str,
        gather: Gather,
        *,
        publish: Publish | None = None,
        clock: Clock | None = None,
        tuning: Tuning | None = None,
    ) -> None:
        self.pool = pool
        self.household = household
        self.instance = instance
        self.gather = gather
        self.publish = publish
        self.clock: Clock = clock or SystemClock()
        self.tuning = tuning or Tuning()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def targets(self, settings: NotifySettings) -> list[Target]:
        """Every target a notification goes to under ``settings``."""
        out: list[Target] = [*apprise_targets(self.tuning.config_urls, settings.urls)]
        if settings.ha_event and self.publish is not None:
            out.append(HaTarget(self.publish))
        if settings.web_push:
            out.extend(
                await push_targets(
                    self.pool, self.household, self.tuning.vapid_subject, self.tuning.send_timeout
                )
            )
        return out

    async def tick(self) -> TickReport:
        """Plan and send what is due now, then retry failed deliveries whose time has come."""
        now = self.clock.now()
        report = TickReport()
        settings = await store.load_settings(self.pool, self.household)
        if quiet(settings, now):
            report.quiet = True
            return report
        targets = {t.key: t for t in await self.targets(settings)}
        if not targets:
            # Nowhere to send: claim nothing, so the alerts come once a target is added.
            return report
        facts = await self.gather(self.pool, now, settings)
        since = (now - self.tuning.memory).date()
        sent = await store.claimed_since(self.pool, self.household, since)
        for candidate in plan(settings, facts, now, sent):
            deliveries = await store.try_claim(
                self.pool,
                household=self.household,
                rule=candidate.rule,
                day=candidate.day,
                subjects=candidate.subjects,
                compose=lambda won, c=candidate: claimed_notification(c, won),
                targets=list(targets),
                now=now,
                lease=self.tuning.lease,
                instance=self.instance,
            )
            if deliveries:
                await self._send(deliveries, targets, report)
        due = await store.take_due(self.pool, self.household, now, self.tuning.lease)
        await self._send(due, targets, report)
        # Claims older than the memory no longer count; keep the tables that small.
        await store.forget_before(self.pool, self.household, since - timedelta(days=1))
        return report

    async def _send(
        self, deliveries: Sequence[store.Delivery], targets: dict[str, Target], report: TickReport
    ) -> None:
        for d in deliveries:
            target = targets.get(d.target)
            label = f"{d.notification.event_type} -> {d.target}"
            if target is None:
                await store.failed(self.pool, d.id, "the target was removed", None)
                report.failed.append(label)
                continue
            try:
                async with asyncio.timeout(self.tuning.send_timeout):
                    await target.send(d.notification)
            except (TargetError, TimeoutError) as exc:
                attempts = d.attempts + 1
                retry_at = None
                if attempts < self.tuning.max_attempts:
                    retry_at = self.clock.now() + backoff(self.tuning, attempts)
                log.warning("notification %s failed (attempt %d): %s", label, attempts, exc)
                await store.failed(self.pool, d.id, str(exc) or "timed out", retry_at)
                report.failed.append(label)
                continue
            await store.delivered(self.pool, d.id, self.clock.now())
            report.sent.append(label)

    async def send_test(self, urls: Sequence[str] | None = None) -> list[dict[str, str | None]]:
        """Send a test message to ``urls`` (or to every configured target but Home Assistant's
        event); nothing is recorded."""
        settings = await store.load_settings(self.pool, self.household)
        # Not to Home Assistant: its event entity knows only the six event types.
        targets: list[Target] = (
            [AppriseTarget(u, "request") for u in urls]
            if urls
            else [t for t in await self.targets(settings) if not isinstance(t, HaTarget)]
        )
        message = Notification(
            "test",
            "Kitchen: test notification",
            "If you can read this, notifications reach you here.",
            [],
        )

        async def one(target: Target) -> dict[str, str | None]:
            try:
                async with asyncio.timeout(self.tuning.send_timeout):
                    await target.send(message)
            except (TargetError, TimeoutError) as exc:
                return {"target": target.key, "status": "failed", "error": str(exc) or "timeout"}
            return {"target": target.key, "status": "sent", "error": None}

        # At once: someone waits for the answer, and a dead service takes its timeout.
        return list(await asyncio.gather(*(one(t) for t in targets)))

    def start(self) -> None:
        """Tick in the background every ``interval`` seconds (and when woken)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"notifier-{self.instance}")

    def wake(self) -> None:
        """Tick soon (settings changed)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            # Cleared before the tick, not after: a wake() while a tick runs (settings saved
            # meanwhile) must bring another tick, not wait for the interval.
            self._wake.clear()
            try:
                report = await self.tick()
                if report.sent or report.failed:
                    log.info("notifications sent %s, failed %s", report.sent, report.failed)
            except _DB_DOWN as exc:
                log.warning("notifications: PostgreSQL unavailable: %s", exc)
            except Exception:
                log.exception("notifications: tick failed")
            try:
                async with asyncio.timeout(self.tuning.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def close(self) -> None:
        """Stop the background loop (a send in progress is abandoned; its lease runs out)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
