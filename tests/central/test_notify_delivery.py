"""The notifier against the real PostgreSQL and a local endpoint behind an Apprise URL:
claims, restarts, two centrals on one database, retries with backoff."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from central.db.pool import open_pool
from central.notify import store
from central.notify.facts import DatedLot, Facts, LowProduct
from central.notify.rules import Notification
from central.notify.service import Notifier, Tuning
from central.notify.settings import NotifySettings
from central.notify.targets import fingerprint
from tests.fakes.notify_receiver import Receiver

TODAY = date(2026, 12, 1)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


class Household:
    """Facts the test changes; the notifier reads them as its gather step."""

    def __init__(self) -> None:
        self.facts = Facts()

    async def gather(self, pool: asyncpg.Pool, now: datetime, s: NotifySettings) -> Facts:
        return self.facts


def lot(name: str, days: int) -> DatedLot:
    return DatedLot(
        f"lot-{name}", name, TODAY + timedelta(days=days), amount=1, unit="l", location="Fridge"
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


def notifier(
    pool: asyncpg.Pool, house: Household, clock: FakeClock, instance: str = "central-1"
) -> Notifier:
    return Notifier(
        pool,
        "home",
        instance,
        house.gather,
        clock=clock,
        tuning=Tuning(retry=timedelta(minutes=1), max_attempts=3),
    )


async def configure(pool: asyncpg.Pool, *urls: str, **choices: object) -> None:
    base: dict[str, object] = {"digest": {"enabled": False}}
    await store.save_settings(
        pool, "home", NotifySettings.model_validate({**base, **choices, "urls": list(urls)})
    )


async def test_an_immediate_alert_reaches_the_endpoint_once(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(pool, receiver.url("/alerts"))
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    n = notifier(pool, house, clock)
    report = await n.tick()
    assert report.sent == [f"expiring -> {fingerprint(receiver.url('/alerts'))}"]
    assert receiver.paths == ["/alerts"]
    assert receiver.received[0]["title"] == "Kitchen: milk (Fridge): best before tomorrow"
    assert "milk" in receiver.received[0]["message"]
    clock.advance(minutes=5)
    assert (await n.tick()).sent == []
    assert len(receiver.received) == 1
    (recent,) = await store.recent(pool, "home")
    assert recent["event_type"] == "expiring"
    assert [d["status"] for d in recent["deliveries"]] == ["sent"]


async def test_no_duplicate_after_a_restart(
    pool: asyncpg.Pool, central_dsn: str, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(pool, receiver.url())
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1), lot("ham", -1)))
    await notifier(pool, house, clock).tick()
    assert len(receiver.received) == 2
    # A new process: its own pool, nothing in memory.
    second = await open_pool(central_dsn, 1, 2)
    try:
        clock.advance(hours=1)
        report = await notifier(second, house, clock, "central-1").tick()
    finally:
        await second.close()
    assert report.sent == [] and len(receiver.received) == 2


async def test_two_centrals_on_one_database_send_each_alert_once(
    pool: asyncpg.Pool, central_dsn: str, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(pool, receiver.url(), digest={"enabled": True, "time": "08:00"})
    house = Household()
    house.facts = Facts(
        lots=tuple(lot(f"item{i}", i % 3) for i in range(12)),
        low=(LowProduct("p-1", "Coffee", 0, 2),),
    )
    other = await open_pool(central_dsn, 1, 2)
    try:
        for _round in range(3):
            a = notifier(pool, house, clock, "central-1")
            b = notifier(other, house, clock, "central-2")
            await asyncio.gather(a.tick(), b.tick())
            clock.advance(minutes=1)
    finally:
        await other.close()
    kinds = sorted(m["title"].split(":")[1].strip().split(" (")[0] for m in receiver.received)
    # one expiring alert (all 12 lots) and one digest; below min is digest-only by default
    assert len(receiver.received) == 2, kinds
    claimed = await pool.fetch("SELECT rule, count(*) AS n FROM notify_claims GROUP BY rule")
    assert {r["rule"]: r["n"] for r in claimed} == {"expiring": 12, "digest": 1}
    expiring = next(m for m in receiver.received if "expiring" in m["title"])
    assert expiring["title"] == "Kitchen: expiring soon (12)"


async def test_the_digest_goes_out_once_at_its_time_even_after_a_late_start(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(
        pool,
        receiver.url(),
        timezone="Europe/Berlin",
        digest={"enabled": True, "time": "18:00"},
        rules={"expiring": {"immediate": False}},
    )
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    n = notifier(pool, house, clock)
    await n.tick()  # 10:00 in Berlin
    assert receiver.received == []
    clock.at = datetime(2026, 12, 1, 19, 45, tzinfo=UTC)  # central was down at 18:00 local
    await n.tick()
    clock.advance(minutes=10)
    await n.tick()
    (digest,) = receiver.received
    assert digest["title"] == "Kitchen: daily summary"
    clock.at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    await n.tick()
    assert len(receiver.received) == 2  # the next day's digest


async def test_a_failed_delivery_is_retried_with_backoff_and_the_good_one_is_not_repeated(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    good, flaky = receiver.url("/good"), receiver.url("/flaky")
    await configure(pool, good, flaky)
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    n = notifier(pool, house, clock)
    receiver.failures["/flaky"] = [503, 500]
    report = await n.tick()
    assert report.sent == [f"expiring -> {fingerprint(good)}"]
    assert report.failed == [f"expiring -> {fingerprint(flaky)}"]
    assert receiver.paths == ["/good"]
    clock.advance(seconds=30)  # before the first backoff (1 minute)
    assert (await n.tick()).sent == []
    clock.advance(seconds=31)
    assert (await n.tick()).failed == [f"expiring -> {fingerprint(flaky)}"]
    clock.advance(seconds=90)  # second backoff is 2 minutes
    assert (await n.tick()).sent == []
    clock.advance(seconds=31)
    assert (await n.tick()).sent == [f"expiring -> {fingerprint(flaky)}"]
    assert receiver.paths == ["/good", "/flaky"]
    (recent,) = await store.recent(pool, "home")
    by_target = {d["target"]: d for d in recent["deliveries"]}
    assert by_target[fingerprint(good)]["attempts"] == 1
    assert by_target[fingerprint(flaky)]["attempts"] == 3
    assert by_target[fingerprint(flaky)]["status"] == "sent"


async def test_a_delivery_gives_up_after_its_attempts(pool: asyncpg.Pool, clock: FakeClock) -> None:
    # Nobody listens on port 9 (discard): every attempt fails.
    await configure(pool, "json://127.0.0.1:9/nobody")
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    n = notifier(pool, house, clock)
    for _ in range(3):
        await n.tick()
        clock.advance(minutes=10)
    (recent,) = await store.recent(pool, "home")
    (delivery,) = recent["deliveries"]
    assert delivery["status"] == "gave_up" and delivery["attempts"] == 3
    assert delivery["error"]
    assert (await n.tick()).failed == []


async def test_a_send_left_unfinished_by_a_dead_process_is_taken_after_its_lease(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(pool, receiver.url())
    deliveries = await store.try_claim(
        pool,
        household="home",
        rule="expired",
        day=TODAY,
        subjects=["lot-x@2026-11-30"],
        compose=lambda won: Notification("expired", "Kitchen: x expired", "- x", []),
        targets=[fingerprint(receiver.url())],
        now=clock.now(),
        lease=timedelta(minutes=2),
        instance="central-dead",
    )
    assert deliveries is not None  # claimed, then the process "died" before sending
    n = notifier(pool, Household(), clock)
    assert (await n.tick()).sent == []
    clock.advance(minutes=3)
    assert (await n.tick()).sent == [f"expired -> {fingerprint(receiver.url())}"]
    assert receiver.received[0]["title"] == "Kitchen: x expired"


async def test_quiet_hours_hold_an_alert_until_they_end(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(
        pool, receiver.url(), quiet_hours={"enabled": True, "start": "22:00", "end": "07:00"}
    )
    clock.at = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    n = notifier(pool, house, clock)
    assert (await n.tick()).quiet
    clock.at = datetime(2026, 12, 2, 6, 59, tzinfo=UTC)
    assert (await n.tick()).quiet
    clock.at = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    await n.tick()
    clock.advance(minutes=1)
    await n.tick()
    (only,) = receiver.received
    assert only["title"] == "Kitchen: milk (Fridge): best before today"


async def test_stored_settings_that_no_longer_validate_turn_notifications_off(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await pool.execute(
        """INSERT INTO notify_settings (household, settings)
           VALUES ('home', '{"enabled": true, "from_a_newer_version": 1}')"""
    )
    assert (await store.load_settings(pool, "home")).enabled is False
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    assert (await notifier(pool, house, clock).tick()).sent == []


async def test_a_long_list_is_capped_in_the_event_and_counted_in_the_message(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(pool, receiver.url())
    house = Household()
    house.facts = Facts(lots=tuple(lot(f"item{i:03}", -1) for i in range(120)))
    await notifier(pool, house, clock).tick()
    (message,) = receiver.received
    assert message["title"] == "Kitchen: expired (120)"
    assert message["message"].endswith("- and 100 more")
    (row,) = await pool.fetch("SELECT jsonb_array_length(items) AS n FROM notifications")
    assert row["n"] == 40
    assert await pool.fetchval("SELECT count(*) FROM notify_claims") == 120


async def test_old_notifications_are_forgotten(
    pool: asyncpg.Pool, receiver: Receiver, clock: FakeClock
) -> None:
    await configure(pool, receiver.url())
    house = Household()
    house.facts = Facts(lots=(lot("milk", 1),))
    n = notifier(pool, house, clock)
    await n.tick()
    house.facts = Facts()
    clock.advance(days=30)
    await n.tick()
    assert await pool.fetchval("SELECT count(*) FROM notify_claims") == 1
    clock.advance(days=32)
    await n.tick()
    assert await pool.fetchval("SELECT count(*) FROM notifications") == 0
    assert await pool.fetchval("SELECT count(*) FROM notify_claims") == 0
