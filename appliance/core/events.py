"""The event envelope and the event types: the one vocabulary of change.

Every change on a node is an event with a UUIDv7 ``event_id``, its ``origin`` node, a
gap-free per-origin ``seq`` and a Lamport clock. Events are validated here, at every
boundary (HTTP, MQTT, SQLite reads of foreign events), so the fold never sees a bad one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from appliance.core import values
from appliance.core.amounts import AmountError, to_milli
from appliance.core.ids import is_uuid

SCHEMA_VERSION: Final = 1
MAX_LIST = 1000  # lots touched by one event, tags removed, ...

PRODUCT_CREATED = "product.created"
PRODUCT_UPDATED = "product.updated"
PRODUCT_DELETED = "product.deleted"
PRODUCT_BARCODES = "product.barcodes"
PRODUCT_MERGED = "product.merged"
LOCATION_CREATED = "location.created"
LOCATION_UPDATED = "location.updated"
LOCATION_DELETED = "location.deleted"
STOCK_PURCHASED = "stock.purchased"
STOCK_CONSUMED = "stock.consumed"
STOCK_SPOILED = "stock.spoiled"
STOCK_OPENED = "stock.opened"
STOCK_TRANSFERRED = "stock.transferred"
STOCK_RECOUNTED = "stock.recounted"
STOCK_REMOVED = "stock.removed"
LOT_UPDATED = "lot.updated"
JOURNAL_UNDONE = "journal.undone"
SHOPPING_ADDED = "shopping.added"
SHOPPING_UPDATED = "shopping.updated"
SHOPPING_PURCHASED = "shopping.purchased"
SHOPPING_REMOVED = "shopping.removed"
SETTINGS_CHANGED = "settings.changed"
#: A receipt line's printed text at a shop, confirmed as a product (learned for next time).
MATCH_LEARNED = "receipt.match_learned"

#: Stock changes that appear in the journal and can be undone.
JOURNAL_TYPES: Final = frozenset(
    {
        STOCK_PURCHASED,
        STOCK_CONSUMED,
        STOCK_SPOILED,
        STOCK_OPENED,
        STOCK_TRANSFERRED,
        STOCK_RECOUNTED,
        STOCK_REMOVED,
    }
)

_ORIGIN_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_MAX_TEXT = 500


class EventError(ValueError):
    """An event that does not satisfy the contract; the message says why."""


@dataclass(frozen=True, slots=True)
class Event:
    """One immutable fact. ``timestamp`` is the origin's wall clock, for display only."""

    event_id: str
    origin: str
    seq: int
    lamport: int
    type: str
    entity_id: str
    data: dict[str, Any] = field(default_factory=dict)
    timestamp: str = ""
    v: int = SCHEMA_VERSION

    @property
    def stamp(self) -> tuple[int, str, str]:
        """The total order used by last-writer-wins: (Lamport clock, origin, event id)."""
        return (self.lamport, self.origin, self.event_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form (JSON-safe)."""
        return {
            "v": self.v,
            "event_id": self.event_id,
            "origin": self.origin,
            "seq": self.seq,
            "lamport": self.lamport,
            "type": self.type,
            "entity_id": self.entity_id,
            "timestamp": self.timestamp,
            "data": self.data,
        }


# --- field validators -------------------------------------------------------------------

Check = Callable[[Any], None]


def _text(
    max_len: int = _MAX_TEXT,
    *,
    optional: bool = True,
    rule: Callable[[str], str | None] = values.text_problem,
) -> Check:
    """A string of at most ``max_len`` characters that satisfies ``rule`` (see core.values)."""

    def check(value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or len(value) > max_len:
            raise EventError(f"must be a string of at most {max_len} characters")
        problem = rule(value)
        if problem is not None:
            raise EventError(problem)

    return check


def _name(max_len: int, *, optional: bool = True) -> Check:
    """A name, as the API accepts it: one line, no control characters, not blank."""
    return _text(max_len, optional=optional, rule=values.name_problem)


def _line(max_len: int) -> Check:
    """One line without control characters."""
    return _text(max_len, rule=values.line_problem)


def _uuid(*, optional: bool = False) -> Check:
    def check(value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or not is_uuid(value):
            raise EventError("must be a UUID")

    return check


def _amount(*, optional: bool = False, positive: bool = False) -> Check:
    def check(value: Any) -> None:
        if value is None and optional:
            return
        try:
            milli = to_milli(value)
        except AmountError as exc:
            raise EventError(str(exc)) from None
        if positive and milli <= 0:
            raise EventError("must be greater than zero")

    return check


def _date(*, optional: bool = True) -> Check:
    def check(value: Any) -> None:
        if value is None and optional:
            return
        if not isinstance(value, str) or len(value) != 10:
            raise EventError("must be a date YYYY-MM-DD")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise EventError("must be a date YYYY-MM-DD") from None
        problem = values.date_problem(day)
        if problem is not None:
            raise EventError(problem)

    return check


def _bool(value: Any) -> None:
    if not isinstance(value, bool):
        raise EventError("must be true or false")


def _int(lo: int, hi: int, *, optional: bool = True) -> Check:
    def check(value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise EventError(f"must be a whole number from {lo} to {hi}")

    return check


def _choice(*options: str, optional: bool = False) -> Check:
    def check(value: Any) -> None:
        if value is None and optional:
            return
        if value not in options:
            raise EventError(f"must be one of {', '.join(options)}")

    return check


def _json_object(value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        raise EventError("must be an object")


def _str_list(max_items: int, item: Check) -> Check:
    def check(value: Any) -> None:
        if not isinstance(value, list) or len(value) > max_items:
            raise EventError(f"must be a list of at most {max_items} items")
        for element in value:
            item(element)

    return check


def _fields(spec: Mapping[str, Check]) -> Check:
    """An object whose keys are a subset of ``spec``."""

    def check(value: Any) -> None:
        if not isinstance(value, dict):
            raise EventError("must be an object")
        for key, sub in value.items():
            if key not in spec:
                raise EventError(f"unknown field {key!r}")
            try:
                spec[key](sub)
            except EventError as exc:
                raise EventError(f"{key}: {exc}") from None

    return check


PRODUCT_FIELDS: Final[Mapping[str, Check]] = {
    "name": _name(200, optional=False),
    "brand": _name(200),
    "barcodes": _str_list(50, _text(512, optional=False, rule=values.line_problem)),
    "category": _name(200),
    "unit": _name(20, optional=False),
    "pack_size": _amount(optional=True),
    "min_stock": _amount(optional=True),
    "default_location_id": _uuid(optional=True),
    "default_best_before_days": _int(0, 36_500),
    "default_best_before_days_after_opening": _int(0, 36_500),
    "default_best_before_days_after_freezing": _int(0, 36_500),
    "notes": _text(2000),
    "needs_enrichment": _bool,
    "enrichment": _json_object,
    "image_url": _line(2000),
}
LOCATION_FIELDS: Final[Mapping[str, Check]] = {
    "name": _name(100, optional=False),
    "sort_key": _int(-1_000_000_000, 1_000_000_000),
    "freezer": _bool,
}
#: A learned receipt match: the shop and printed text (normalised) and the product.
MATCH_FIELDS: Final[Mapping[str, Check]] = {
    "merchant": _line(200),
    "text": _line(200),
    "product_id": _uuid(),
}
#: Household settings every node agrees on (last writer wins per setting).
SETTINGS_FIELDS: Final[Mapping[str, Check]] = {"due_soon_days": _int(0, 365, optional=False)}
LOT_FIELDS: Final[Mapping[str, Check]] = {
    "location_id": _uuid(optional=True),
    "best_before": _date(),
    # The use-by (expiry) date of GS1 AI 17 when the code carried one; best_before then
    # holds AI 15, or AI 17 when there was no AI 15 (what older nodes wrote).
    "use_by": _date(),
    "batch": _line(100),
    "serial": _line(100),
    "opened_on": _date(),
    "purchased_on": _date(),
    "source": _choice("scan", "manual", "receipt", "shopping", optional=True),
    "note": _text(500),
    "net_weight": _amount(optional=True),
    "net_weight_unit": _line(10),
    "price": _amount(optional=True),
    "frozen_on": _date(),
}
SHOPPING_FIELDS: Final[Mapping[str, Check]] = {
    "product_id": _uuid(optional=True),
    "text": _name(200),
    "amount": _amount(optional=True),
    "priority": _choice("urgent", "normal", "low"),
    "note": _text(500),
    "auto": _bool,
    "purchased": _bool,
}

_LOT_AMOUNT = _fields({"lot_id": _uuid(), "amount": _amount()})


def _lot_amounts(value: Any) -> None:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
        raise EventError(f"must be a list of 1 to {MAX_LIST} lot amounts")
    for element in value:
        _LOT_AMOUNT(element)
        if set(element) != {"lot_id", "amount"}:
            raise EventError("each entry needs lot_id and amount")


def _shopping_fields(*, new: bool) -> Check:
    """Shopping fields; an entry names a product or a text, never both, never neither."""
    base = _fields(SHOPPING_FIELDS)

    def check(value: Any) -> None:
        base(value)
        product, text = value.get("product_id"), value.get("text")
        if product is not None and text is not None:
            raise EventError("an entry has a product_id or a text, not both")
        if new and product is None and text is None:
            raise EventError("an entry needs a product_id or a text")
        if not new and "text" in value and text is None:
            raise EventError("text: may not be cleared (the entry would name nothing)")

    return check


_OPTIONAL_STATION = _line(64)
_SETTLE = _fields({"lot_id": _uuid(), "seen": _str_list(10_000, _uuid())})


def _settles(value: Any) -> None:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise EventError(f"must be a list of at most {MAX_LIST} lots")
    for element in value:
        _SETTLE(element)
        if set(element) != {"lot_id", "seen"}:
            raise EventError("each entry needs lot_id and seen")


_DATA_SPECS: Final[Mapping[str, Mapping[str, tuple[Check, bool]]]] = {
    # type -> key -> (check, required)
    PRODUCT_CREATED: {"fields": (_fields(PRODUCT_FIELDS), True)},
    PRODUCT_UPDATED: {"fields": (_fields(PRODUCT_FIELDS), True)},
    PRODUCT_DELETED: {},
    # Barcodes added to / removed from a product: one last-writer-wins register per code, so
    # two nodes adding different codes at once both keep theirs.
    PRODUCT_BARCODES: {
        "add": (_str_list(50, _text(512, optional=False)), False),
        "remove": (_str_list(50, _text(512, optional=False)), False),
    },
    # The product (entity_id) turned out to be ``into``: its stock, barcodes, shopping entries
    # and history are read as the other's from now on (resolved where they are projected).
    PRODUCT_MERGED: {"into": (_uuid(), True)},
    LOCATION_CREATED: {"fields": (_fields(LOCATION_FIELDS), True)},
    LOCATION_UPDATED: {"fields": (_fields(LOCATION_FIELDS), True)},
    LOCATION_DELETED: {},
    STOCK_PURCHASED: {
        "product_id": (_uuid(), True),
        "amount": (_amount(), True),
        "lot": (_fields(LOT_FIELDS), True),
        "station_id": (_OPTIONAL_STATION, False),
        "shopping_id": (_uuid(optional=True), False),
        # Deficit lots of the product this purchase settles: each is recounted to zero as of
        # the deltas it had seen, so a recorded shortfall does not eat the new stock.
        "settles": (_settles, False),
    },
    STOCK_CONSUMED: {
        "product_id": (_uuid(), True),
        "lots": (_lot_amounts, True),
        "station_id": (_OPTIONAL_STATION, False),
    },
    STOCK_OPENED: {
        "product_id": (_uuid(), True),
        "lot_id": (_uuid(), True),
        "opened_on": (_date(optional=False), True),
        "amount": (_amount(optional=True, positive=True), False),
        "new_lot_id": (_uuid(optional=True), False),
        "lot": (_fields(LOT_FIELDS), False),
        "station_id": (_OPTIONAL_STATION, False),
        "fields": (_fields(LOT_FIELDS), False),
    },
    STOCK_TRANSFERRED: {
        "product_id": (_uuid(), True),
        "lot_id": (_uuid(), True),
        "location_id": (_uuid(), True),
        "amount": (_amount(optional=True, positive=True), False),
        "new_lot_id": (_uuid(optional=True), False),
        "lot": (_fields(LOT_FIELDS), False),
        # Written on the moved lot (a freezer's best-before, for one), undone with the move.
        "fields": (_fields(LOT_FIELDS), False),
        "station_id": (_OPTIONAL_STATION, False),
    },
    STOCK_RECOUNTED: {
        "product_id": (_uuid(), True),
        "lot_id": (_uuid(), True),
        "amount": (_amount(), True),
        "seen": (_str_list(10_000, _uuid()), True),
    },
    STOCK_REMOVED: {"product_id": (_uuid(), True), "lot_id": (_uuid(), True)},
    LOT_UPDATED: {
        "product_id": (_uuid(), True),
        "lot_id": (_uuid(), True),
        "fields": (_fields(LOT_FIELDS), True),
    },
    JOURNAL_UNDONE: {
        "target": (_uuid(), True),
        "lot_ids": (_str_list(MAX_LIST, _uuid()), True),
        "station_id": (_OPTIONAL_STATION, False),
    },
    SHOPPING_ADDED: {"fields": (_shopping_fields(new=True), True)},
    SHOPPING_UPDATED: {"fields": (_shopping_fields(new=False), True)},
    SHOPPING_PURCHASED: {"lot_id": (_uuid(optional=True), False)},
    SHOPPING_REMOVED: {"tags": (_str_list(MAX_LIST, _uuid()), True)},
    SETTINGS_CHANGED: {"fields": (_fields(SETTINGS_FIELDS), True)},
    MATCH_LEARNED: {"fields": (_fields(MATCH_FIELDS), True)},
}
_DATA_SPECS_SPOILED = dict(_DATA_SPECS)
_DATA_SPECS_SPOILED[STOCK_SPOILED] = _DATA_SPECS[STOCK_CONSUMED]
EVENT_TYPES: Final = frozenset(_DATA_SPECS_SPOILED)


def validate_data(event_type: str, data: Any) -> None:
    """Check an event's ``data`` against its type; raise EventError naming the problem."""
    spec = _DATA_SPECS_SPOILED.get(event_type)
    if spec is None:
        raise EventError(f"unknown event type {event_type!r}")
    if not isinstance(data, dict):
        raise EventError("data must be an object")
    for key in data:
        if key not in spec:
            raise EventError(f"data: unknown key {key!r} for {event_type}")
    for key, (check, required) in spec.items():
        if key not in data:
            if required:
                raise EventError(f"data: {key} is required for {event_type}")
            continue
        try:
            check(data[key])
        except EventError as exc:
            raise EventError(f"data.{key}: {exc}") from None


def parse_event(raw: Any) -> Event:
    """Validate a wire-form event (a decoded JSON object) and return it."""
    if not isinstance(raw, dict):
        raise EventError("an event must be a JSON object")
    version = raw.get("v")
    if version != SCHEMA_VERSION:
        raise EventError(f"unsupported schema version {version!r} (this node reads 1)")
    expected = {"v", "event_id", "origin", "seq", "lamport", "type", "entity_id", "timestamp"}
    missing = sorted(expected - raw.keys())
    if missing:
        raise EventError(f"missing keys: {', '.join(missing)}")
    unknown = sorted(raw.keys() - expected - {"data"})
    if unknown:
        raise EventError(f"unknown keys: {', '.join(unknown)}")
    event_id, origin, entity_id = raw["event_id"], raw["origin"], raw["entity_id"]
    if not isinstance(event_id, str) or not is_uuid(event_id):
        raise EventError("event_id must be a UUID")
    if not isinstance(entity_id, str) or not is_uuid(entity_id):
        raise EventError("entity_id must be a UUID")
    if not isinstance(origin, str) or not _ORIGIN_RE.match(origin):
        raise EventError("origin must be a node id")
    for key in ("seq", "lamport"):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**62:
            raise EventError(f"{key} must be a positive whole number")
    if not isinstance(raw["timestamp"], str) or len(raw["timestamp"]) > 40:
        raise EventError("timestamp must be a short string")
    event_type = raw["type"]
    if not isinstance(event_type, str):
        raise EventError("type must be a string")
    data = raw.get("data", {})
    validate_data(event_type, data)
    return Event(
        event_id=event_id.lower(),
        origin=origin,
        seq=raw["seq"],
        lamport=raw["lamport"],
        type=event_type,
        entity_id=entity_id.lower(),
        data=data,
        timestamp=raw["timestamp"],
    )
