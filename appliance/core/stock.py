"""Which lots a consumption takes from, and other pure stock rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from appliance.core.values import LAST_DATE

# A Pi without a real-time clock boots in 1970; a date before this is not a real "today".
EARLIEST_PLAUSIBLE_DAY = date(2025, 1, 1)


@dataclass(frozen=True, slots=True)
class LotChoice:
    """What the picking rule needs to know of a lot."""

    lot_id: str
    milli: int
    opened: bool
    best_before: str | None
    created: tuple[int, str]  # (Lamport clock, origin) of the lot's first write
    batch: str | None = None


def _order(lot: LotChoice, batch: str | None, best_before: str | None) -> tuple[object, ...]:
    exact = batch is not None and lot.batch == batch
    same_date = best_before is not None and lot.best_before == best_before
    return (
        not exact,  # the scanned batch first: GS1 codes name it
        not same_date,
        not lot.opened,  # then what is already open
        lot.best_before is None,  # then the earliest best-before
        lot.best_before or "",
        lot.created,  # then the oldest, by Lamport clock: never by wall clock
        lot.lot_id,
    )


def pick_lots(
    lots: Sequence[LotChoice],
    milli: int,
    *,
    batch: str | None = None,
    best_before: str | None = None,
) -> list[tuple[str, int]]:
    """Split ``milli`` over lots: the scanned batch, opened, earliest best-before, oldest.

    Taking more than there is never fails: the remainder goes to the first lot chosen, which
    then shows a negative amount and asks for a recount. Returns ``(lot_id, milli)`` pairs;
    an empty list means there was no lot at all.
    """
    ordered = sorted(lots, key=lambda lot: _order(lot, batch, best_before))
    taken: list[tuple[str, int]] = []
    remaining = milli
    for lot in ordered:
        if remaining <= 0:
            break
        if lot.milli <= 0:
            continue
        part = min(lot.milli, remaining)
        taken.append((lot.lot_id, part))
        remaining -= part
    if remaining > 0 and ordered:
        first = taken[0][0] if taken else ordered[0].lot_id
        merged = dict(taken)
        merged[first] = merged.get(first, 0) + remaining
        taken = list(merged.items())
    return taken


def pick_lot_to_open(lots: Sequence[LotChoice]) -> LotChoice | None:
    """The unopened lot to open next: earliest best-before, then oldest."""
    candidates = [lot for lot in lots if not lot.opened and lot.milli > 0]
    if not candidates:
        return None
    return min(candidates, key=lambda lot: _order(lot, None, None))


def plausible_today(today: date) -> date | None:
    """Return ``today`` when the clock looks set, else None (dates are then left empty)."""
    return today if today >= EARLIEST_PLAUSIBLE_DAY else None


def default_best_before(today: date | None, days: int | None) -> str | None:
    """A best-before date from a product's default shelf life, if the clock can be trusted."""
    if today is None or days is None:
        return None
    try:
        day = today + timedelta(days=days)
    except OverflowError:  # a clock set to the year 9999
        return None
    # Past the last date an event may carry (a clock far ahead): better no date than a refusal.
    return day.isoformat() if day <= LAST_DATE else None


def due_soon_limit(today: date | None, days: int) -> str | None:
    """The last best-before date that counts as "due soon" (expired ones included).

    The one rule for "expiring" everywhere (display, summary, lists): a lot is due soon when
    its best-before is at most ``days`` days from today; None while the clock is not set.
    """
    if today is None:
        return None
    return (today + timedelta(days=days)).isoformat()


def expiry_status(best_before: str | None, today: date | None, days: int) -> str | None:
    """``expired``, ``due_soon`` or ``ok`` for a best-before date; None when it cannot be told."""
    if best_before is None or today is None:
        return None
    if best_before < today.isoformat():
        return "expired"
    limit = due_soon_limit(today, days)
    return "due_soon" if limit is not None and best_before <= limit else "ok"


def moved_best_before(
    *,
    today: date | None,
    into_freezer: bool,
    out_of_freezer: bool,
    opened: bool,
    days_purchase: int | None,
    days_opened: int | None,
    days_frozen: int | None,
) -> str | None:
    """The best-before a lot gets when it moves (Grocy's rule), or None to keep its own.

    Into a freezer: today + the product's freezer days. Out of a freezer into a place that is
    not one: today + its days after opening when opened, else after purchase. A product with
    no such days, or a clock that is not set, keeps the lot's date.
    """
    if today is None:
        return None
    if into_freezer and not out_of_freezer:
        return default_best_before(today, days_frozen or None)
    if out_of_freezer and not into_freezer:
        days = days_opened if opened and days_opened else days_purchase
        return default_best_before(today, days)
    return None


def opened_best_before(today: date | None, current: str | None, days: int | None) -> str | None:
    """The best-before of a lot being opened: today + days after opening, never later than
    the date it had (Grocy does the same); None keeps its date."""
    new = default_best_before(today, days or None)
    if new is None or (current is not None and current <= new):
        return None
    return new


#: What a lot's dates say, most urgent first (the household dashboard's counts and filters).
DUE_STATES = ("expired", "overdue", "due_soon", "ok")


def due_state(
    best_before: str | None, use_by: str | None, today: date | None, days: int
) -> str | None:
    """``expired`` (use-by passed), ``overdue`` (best-before passed), ``due_soon`` (either
    within ``days``, the household horizon) or ``ok``; None when no date or no clock.

    Built on ``expiry_status``, the rule of the node's summary and display: the use-by date
    (GS1 AI 17) is the stricter one, so a lot past it is ``expired`` whatever its
    best-before says; a lot is counted under one state only.
    """
    use = expiry_status(use_by, today, days)
    best = expiry_status(best_before, today, days)
    if use == "expired":
        return "expired"
    if best == "expired":
        return "overdue"
    if "due_soon" in (use, best):
        return "due_soon"
    return "ok" if "ok" in (use, best) else None


def lot_due(lot: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The date a lot is due by and whether it is a use-by date: ``(date, is_use_by)``.

    The use-by date (GS1 AI 17) wins when the lot has one, since eating past it is unsafe
    while best-before (AI 15) is only about quality; labels, the label webhook's
    ``due_date`` and Grocy's due dates and ``due_type`` all follow this one rule.
    """
    use_by = lot.get("use_by")
    if use_by:
        return str(use_by), True
    best_before = lot.get("best_before")
    return (str(best_before) if best_before else None), False
