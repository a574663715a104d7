"""The rule engine: household facts + now + what was already claimed -> what to send.

Pure: no I/O, no clock of its own. ``now`` is central's clock (NTP-synchronised, unlike a Pi
without a real-time clock); "today" is its date in the household's time zone.

Each alert is about subjects (a lot and its date, a product on a day, a receipt, a node's
offline spell). A subject is alerted once: ``sent`` holds the (rule, subject) pairs claimed
before, and the service claims each (rule, subject, day) in PostgreSQL before sending, so two
central processes cannot both send it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from appliance.core.stock import due_state
from central.notify.facts import DatedLot, Facts
from central.notify.settings import RULES, NotifySettings, clock_time

DIGEST = "digest"
#: Subject of the household's digest of one day.
DIGEST_SUBJECT = "household"


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a notification is about."""

    subject: str
    text: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A notification the engine wants sent, before its subjects are claimed."""

    rule: str  # one of RULES, or "digest"
    day: date
    items: tuple[Item, ...]
    # For a digest: the items of each rule (its subject is the day's DIGEST_SUBJECT).
    sections: tuple[tuple[str, tuple[Item, ...]], ...] = ()

    @property
    def subjects(self) -> list[str]:
        """What the service claims before sending."""
        if self.rule == DIGEST:
            return [digest_subject(self.day)]
        return [i.subject for i in self.items]


@dataclass(frozen=True, slots=True)
class Notification:
    """What goes out: the Apprise title and body, and the Home Assistant event."""

    event_type: str
    title: str
    message: str
    items: list[dict[str, Any]]

    def event(self) -> dict[str, Any]:
        """The JSON of ``kitchen/v1/{household}/central/notification``."""
        return {
            "event_type": self.event_type,
            "title": self.title,
            "message": self.message,
            "items": self.items,
        }


def local_now(settings: NotifySettings, now: datetime) -> datetime:
    """``now`` (timezone-aware) in the household's time zone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(settings.timezone))


def quiet(settings: NotifySettings, now: datetime) -> bool:
    """Whether ``now`` falls in the household's quiet hours."""
    return settings.quiet_hours.contains(local_now(settings, now).time())


def lot_state(lot: DatedLot, today: date, horizon: int) -> tuple[str | None, date | None]:
    """The lot's state by the household rule (``appliance.core.stock.due_state``: the same
    as the dashboard's and Home Assistant's) and the date it is about."""
    best = lot.best_before.isoformat() if lot.best_before else None
    use = lot.use_by.isoformat() if lot.use_by else None
    state = due_state(best, use, today, horizon)
    if state == "expired":
        return state, lot.use_by
    if state == "overdue":
        return state, lot.best_before
    dates = [d for d in (lot.use_by, lot.best_before) if d is not None and d >= today]
    return state, min(dates) if dates else None


def _lot_item(lot: DatedLot, state: str, day: date, today: date) -> Item:
    days = (day - today).days
    kind = "use by" if day == lot.use_by else "best before"
    if days < 0:
        ago = "yesterday" if days == -1 else f"{-days} days ago"
        when = f"expired {ago} (use by)" if state == "expired" else f"best before {ago}"
    elif days == 0:
        when = f"{kind} today"
    elif days == 1:
        when = f"{kind} tomorrow"
    else:
        when = f"{kind} in {days} days"
    where = f" ({lot.location})" if lot.location else ""
    return Item(
        f"{lot.lot_id}@{day.isoformat()}",
        f"{lot.name}{where}: {when}",
        {
            "lot_id": lot.lot_id,
            "name": lot.name,
            "state": state,
            "best_before": lot.best_before.isoformat() if lot.best_before else None,
            "use_by": lot.use_by.isoformat() if lot.use_by else None,
            "days": days,
            "amount": lot.amount,
            "unit": lot.unit,
            "location": lot.location,
        },
    )


def _lots(facts: Facts, today: date, horizon: int) -> tuple[list[Item], list[Item]]:
    """(expiring, expired) items, soonest or oldest date first."""
    expiring: list[tuple[date, str, str, Item]] = []
    expired: list[tuple[date, str, str, Item]] = []
    for lot in facts.lots:
        state, day = lot_state(lot, today, horizon)
        if day is None or state not in ("due_soon", "expired", "overdue"):
            continue
        item = _lot_item(lot, state, day, today)
        (expiring if state == "due_soon" else expired).append((day, lot.name, lot.lot_id, item))

    def order(found: list[tuple[date, str, str, Item]]) -> list[Item]:
        return [t[3] for t in sorted(found, key=lambda t: t[:3])]

    return order(expiring), order(expired)


def _amount(value: float, unit: str | None) -> str:
    text = f"{value:g}"
    return f"{text} {unit}" if unit else text


def findings(settings: NotifySettings, facts: Facts, now: datetime) -> dict[str, list[Item]]:
    """What each rule sees now, sorted (soonest date first, then by name)."""
    local = local_now(settings, now)
    today = local.date()
    horizon = settings.horizon_days
    expiring, expired = _lots(facts, today, facts.horizon_days if horizon is None else horizon)
    offline_for = timedelta(minutes=settings.node_offline_minutes)
    found: dict[str, list[Item]] = {
        "expiring": expiring,
        "expired": expired,
        "below_min": [
            Item(
                # Reminded once a day while it lasts: the subject carries the day.
                f"{p.product_id}@{today.isoformat()}",
                f"{p.name}: {_amount(p.stock, p.unit)} left, "
                f"minimum {_amount(p.min_stock, p.unit)}",
                {
                    "product_id": p.product_id,
                    "name": p.name,
                    "stock": p.stock,
                    "min_stock": p.min_stock,
                    "unit": p.unit,
                },
            )
            for p in sorted(facts.low, key=lambda p: (p.name, p.product_id))
        ],
        "receipt_review": [
            Item(
                r.receipt_id,
                "Receipt"
                + (f" from {r.shop}" if r.shop else "")
                + (f" ({r.total})" if r.total else "")
                + " is ready for review",
                {"receipt_id": r.receipt_id, "shop": r.shop, "total": r.total},
            )
            for r in sorted(facts.receipts, key=lambda r: r.receipt_id)
        ],
        "node_offline": [
            Item(
                # One alert per offline spell: a node that comes back and goes again is new.
                f"{n.node}@{n.since.isoformat()}",
                f"{n.node} has been offline since "
                f"{n.since.astimezone(local.tzinfo).strftime('%Y-%m-%d %H:%M')}",
                {"node": n.node, "since": n.since.isoformat()},
            )
            for n in sorted(facts.nodes, key=lambda n: n.node)
            if not n.online and n.since is not None and now - n.since >= offline_for
        ],
    }
    return found


def plan(
    settings: NotifySettings,
    facts: Facts,
    now: datetime,
    sent: Collection[tuple[str, str]],
) -> list[Candidate]:
    """The notifications to send now.

    ``sent`` holds (rule, subject) pairs already claimed (a digest's subject is
    ``household@YYYY-MM-DD``). Nothing is planned while notifications are off or during quiet
    hours: what would have been sent is found again when they end, and sent once then.
    """
    if not settings.enabled or quiet(settings, now):
        return []
    local = local_now(settings, now)
    today = local.date()
    found = findings(settings, facts, now)
    out: list[Candidate] = []
    for rule in RULES:
        if not settings.rules.switch(rule).immediate:
            continue
        new = tuple(i for i in found[rule] if (rule, i.subject) not in sent)
        if new:
            out.append(Candidate(rule, today, new))
    digest = settings.digest
    if (
        digest.enabled
        and local.time() >= clock_time(digest.time)
        and (DIGEST, digest_subject(today)) not in sent
    ):
        sections = tuple(
            (rule, tuple(found[rule]))
            for rule in RULES
            if settings.rules.switch(rule).digest and found[rule]
        )
        if sections or digest.send_when_empty:
            out.append(Candidate(DIGEST, today, (), sections))
    return out


def digest_subject(day: date) -> str:
    """The subject under which the digest of ``day`` is claimed."""
    return f"{DIGEST_SUBJECT}@{day.isoformat()}"


_HEADINGS = {
    "expiring": "Expiring soon",
    "expired": "Expired",
    "below_min": "Below minimum stock",
    "receipt_review": "Receipts to review",
    "node_offline": "Nodes offline",
}


def _one_line(items: list[Item], limit: int = 20) -> str:
    lines = [f"- {i.text}" for i in items[:limit]]
    if len(items) > limit:
        lines.append(f"- and {len(items) - limit} more")
    return "\n".join(lines)


#: Items carried in one notification's ``items`` (the message counts the rest): Home
#: Assistant drops an event's attributes beyond 16 KiB.
MAX_ITEMS = 40


def compose(rule: str, items: list[Item], sections: list[tuple[str, list[Item]]]) -> Notification:
    """The message for the items whose subjects this process claimed."""
    if rule == DIGEST:
        total = sum(len(s) for _r, s in sections)
        body = "\n\n".join(f"{_HEADINGS[r]}:\n{_one_line(s)}" for r, s in sections)
        return Notification(
            "digest",
            "Kitchen: daily summary" if total else "Kitchen: nothing to report today",
            body or "Nothing expires soon, nothing is below its minimum.",
            [{"rule": r, **i.data} for r, s in sections for i in s][:MAX_ITEMS],
        )
    heading = _HEADINGS[rule]
    if len(items) == 1:
        title = f"Kitchen: {items[0].text}"
    else:
        title = f"Kitchen: {heading.lower()} ({len(items)})"
    return Notification(rule, title, _one_line(items), [dict(i.data) for i in items[:MAX_ITEMS]])
