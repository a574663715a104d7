"""PostgreSQL side of notifications: settings, claims, notifications and their deliveries.

Claiming is what keeps an alert from going out twice: the subjects of a notification are
inserted into ``notify_claims`` (unique per household, rule, subject and day) with ``ON
CONFLICT DO NOTHING`` in the transaction that records the notification and its deliveries.
A second central process (or this one after a restart) inserts nothing and sends nothing.
Deliveries are then sent outside the transaction; each outcome is recorded, and failed ones
are taken again (``FOR UPDATE SKIP LOCKED``, so two processes never take the same row).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import ValidationError

from central.notify.rules import Notification
from central.notify.settings import NotifySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery taken for sending."""

    id: int
    notification_id: int
    target: str
    attempts: int
    notification: Notification


async def load_settings(db: asyncpg.Pool | asyncpg.Connection, household: str) -> NotifySettings:
    """The household's settings (the defaults when none were saved).

    Stored settings that no longer validate (written by another version, or by hand) turn
    notifications off rather than sending what the household may have switched off; the
    API still answers, and a ``PUT`` replaces them.
    """
    raw = await db.fetchval(
        "SELECT settings::text FROM notify_settings WHERE household = $1", household
    )
    if raw is None:
        return NotifySettings()
    try:
        return NotifySettings.model_validate_json(raw)
    except ValidationError as exc:
        log.error("stored notification settings are invalid, notifications are off: %s", exc)
        return NotifySettings(enabled=False)


async def save_settings(
    db: asyncpg.Pool | asyncpg.Connection, household: str, settings: NotifySettings
) -> None:
    """Replace the household's settings."""
    await db.execute(
        """INSERT INTO notify_settings (household, settings, updated_at)
           VALUES ($1, $2::jsonb, now())
           ON CONFLICT (household)
           DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()""",
        household,
        settings.model_dump_json(),
    )


async def claimed_since(
    db: asyncpg.Pool | asyncpg.Connection, household: str, since: date
) -> set[tuple[str, str]]:
    """(rule, subject) pairs claimed on ``since`` or later."""
    rows = await db.fetch(
        "SELECT rule, subject FROM notify_claims WHERE household = $1 AND day >= $2",
        household,
        since,
    )
    return {(r["rule"], r["subject"]) for r in rows}


async def claim(
    pool: asyncpg.Pool,
    *,
    household: str,
    rule: str,
    day: date,
    subjects: Sequence[str],
    compose: Callable[[set[str]], Notification],
    targets: Sequence[str],
    now: datetime,
    lease: timedelta,
    instance: str,
) -> list[Delivery]:
    """Claim ``subjects`` and record the notification ``compose`` makes of those claimed.

    Returns the deliveries this process now owns (none when another claim came first).
    """
    async with pool.acquire() as conn, conn.transaction():
        notification_id = await conn.fetchval(
            """INSERT INTO notifications
                   (household, event_type, title, message, items, day, created_at, created_by)
               VALUES ($1, $2, '', '', '[]', $3, $4, $5) RETURNING id""",
            household,
            rule,
            day,
            now,
            instance,
        )
        rows = await conn.fetch(
            """INSERT INTO notify_claims (household, rule, subject, day, notification_id)
               SELECT $1, $2, s, $3, $4 FROM unnest($5::text[]) AS s
               ON CONFLICT DO NOTHING RETURNING subject""",
            household,
            rule,
            day,
            notification_id,
            list(subjects),
        )
        won = {r["subject"] for r in rows}
        if not won:
            # Someone else sent all of it: leave no trace (the transaction rolls back).
            raise _NothingClaimed
        notification = compose(won)
        await conn.execute(
            "UPDATE notifications SET event_type = $2, title = $3, message = $4, items = $5::jsonb "
            "WHERE id = $1",
            notification_id,
            notification.event_type,
            notification.title,
            notification.message,
            json.dumps(notification.items, ensure_ascii=False),
        )
        delivery_rows = await conn.fetch(
            """INSERT INTO notify_deliveries (notification_id, target, status, next_attempt)
               SELECT $1, t, 'sending', $3 FROM unnest($2::text[]) AS t
               RETURNING id, target""",
            notification_id,
            list(targets),
            now + lease,
        )
    return [
        Delivery(int(r["id"]), int(notification_id), r["target"], 0, notification)
        for r in delivery_rows
    ]


class _NothingClaimed(Exception):
    pass


async def try_claim(pool: asyncpg.Pool, **kwargs: Any) -> list[Delivery] | None:
    """``claim``, or None when every subject was claimed already."""
    try:
        return await claim(pool, **kwargs)
    except _NothingClaimed:
        return None


async def take_due(
    pool: asyncpg.Pool, household: str, now: datetime, lease: timedelta, limit: int = 20
) -> list[Delivery]:
    """Deliveries to (re)try now: failed ones whose backoff ran out, and ones left 'sending'
    by a process that died. Each is leased to this process."""
    rows = await pool.fetch(
        """WITH due AS (
               SELECT d.id FROM notify_deliveries d
               JOIN notifications n ON n.id = d.notification_id
               WHERE n.household = $1 AND d.status IN ('failed', 'sending')
                 AND d.next_attempt <= $2
               ORDER BY d.next_attempt LIMIT $4
               FOR UPDATE OF d SKIP LOCKED)
           UPDATE notify_deliveries d SET status = 'sending', next_attempt = $3
           FROM due, notifications n
           WHERE d.id = due.id AND n.id = d.notification_id
           RETURNING d.id, d.notification_id, d.target, d.attempts,
                     n.event_type, n.title, n.message, n.items::text AS items""",
        household,
        now,
        now + lease,
        limit,
    )
    return [
        Delivery(
            int(r["id"]),
            int(r["notification_id"]),
            r["target"],
            int(r["attempts"]),
            Notification(r["event_type"], r["title"], r["message"], json.loads(r["items"])),
        )
        for r in rows
    ]


async def delivered(pool: asyncpg.Pool, delivery_id: int, now: datetime) -> None:
    """Record a successful delivery."""
    await pool.execute(
        """UPDATE notify_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = $2,
                  last_error = NULL
           WHERE id = $1""",
        delivery_id,
        now,
    )


async def failed(
    pool: asyncpg.Pool, delivery_id: int, error: str, retry_at: datetime | None
) -> None:
    """Record a failed attempt; ``retry_at`` None gives up."""
    await pool.execute(
        """UPDATE notify_deliveries
           SET status = CASE WHEN $3::timestamptz IS NULL THEN 'gave_up' ELSE 'failed' END,
               attempts = attempts + 1, last_error = $2,
               next_attempt = coalesce($3::timestamptz, next_attempt)
           WHERE id = $1""",
        delivery_id,
        error[:1000],
        retry_at,
    )


async def recent(pool: asyncpg.Pool, household: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest notifications with the outcome of each delivery."""
    rows = await pool.fetch(
        """SELECT n.id, n.event_type, n.title, n.day, n.created_at, n.created_by,
                  coalesce(json_agg(json_build_object(
                      'target', d.target, 'status', d.status, 'attempts', d.attempts,
                      'error', d.last_error, 'sent_at', d.sent_at,
                      'next_attempt', d.next_attempt) ORDER BY d.target)
                    FILTER (WHERE d.id IS NOT NULL), '[]')::text AS deliveries
           FROM notifications n LEFT JOIN notify_deliveries d ON d.notification_id = n.id
           WHERE n.household = $1
           GROUP BY n.id ORDER BY n.id DESC LIMIT $2""",
        household,
        limit,
    )
    return [
        {
            "id": int(r["id"]),
            "event_type": r["event_type"],
            "title": r["title"],
            "day": r["day"].isoformat(),
            "created_at": r["created_at"].isoformat(),
            "created_by": r["created_by"],
            "deliveries": json.loads(r["deliveries"]),
        }
        for r in rows
    ]


async def forget_before(pool: asyncpg.Pool, household: str, day: date) -> int:
    """Delete notifications (their claims and deliveries with them) of days before ``day``."""
    status = await pool.execute(
        "DELETE FROM notifications WHERE household = $1 AND day < $2", household, day
    )
    return int(status.split()[-1])
