"""Entity states as conflict-free replicated values, and their plain views.

Each state merges events in any order, any number of times, into the same value:
- product and location fields: last-writer-wins registers by (Lamport, origin, event id);
- a lot: a sum of deltas keyed by event id, attribute writes and recounts that an undo can
  exclude, and a recount that records which deltas it had seen;
- a shopping entry: an add-wins set of tags with tombstones, fields last-writer-wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Self

from appliance.core.amounts import from_milli

Kind = Literal["product", "location", "lot", "shopping", "setting", "match"]
#: A product's per-barcode register: ``barcode:<code>`` -> added (True) or removed (False).
BARCODE_PREFIX = "barcode:"
#: The one entity holding the household's settings (same id on every node).
SETTINGS_ID = "8d0e7f3c-5a4b-5c6d-9e8f-0a1b2c3d4e5f"
DEFAULT_DUE_SOON_DAYS = 3
Stamp = tuple[int, str, str]


def _stamp(raw: Any) -> Stamp:
    return (int(raw[0]), str(raw[1]), str(raw[2]))


@dataclass(slots=True)
class LwwFields:
    """Last-writer-wins registers, one per field name."""

    values: dict[str, tuple[Stamp, Any]] = field(default_factory=dict)

    def write(self, stamp: Stamp, name: str, value: Any) -> None:
        """Keep ``value`` if its stamp is newer than what the field holds."""
        current = self.values.get(name)
        if current is None or stamp > current[0]:
            self.values[name] = (stamp, value)

    def get(self, name: str, default: Any = None) -> Any:
        """Return the winning value of a field."""
        current = self.values.get(name)
        return default if current is None else current[1]

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form."""
        return {k: [list(v[0]), v[1]] for k, v in sorted(self.values.items())}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LwwFields:
        """Rebuild from ``to_json``."""
        return cls({k: (_stamp(v[0]), v[1]) for k, v in raw.items()})


@dataclass(slots=True)
class _FieldsEntity:
    """An entity made only of last-writer-wins fields, ``deleted`` among them."""

    id: str
    fields: LwwFields = field(default_factory=LwwFields)

    @property
    def deleted(self) -> bool:
        """Whether the last writer deleted it."""
        return bool(self.fields.get("deleted", False))

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form of the whole state."""
        return {"fields": self.fields.to_json()}

    @classmethod
    def from_json(cls, entity_id: str, raw: dict[str, Any]) -> Self:
        """Rebuild from ``to_json``."""
        return cls(entity_id, LwwFields.from_json(raw["fields"]))


@dataclass(slots=True)
class ProductState(_FieldsEntity):
    """A product; exists once any write for it arrived, unless its last write deleted it."""

    kind: Kind = "product"

    def view(self) -> dict[str, Any]:
        """The product as clients see it."""
        get = self.fields.get
        min_stock = get("min_stock")
        pack_size = get("pack_size")
        return {
            "id": self.id,
            "name": get("name", "Unknown product"),
            "brand": get("brand"),
            "barcodes": self.barcodes(),
            "category": get("category"),
            "unit": get("unit", "piece"),
            "pack_size": None if pack_size is None else float(pack_size),
            "min_stock": None if min_stock is None else float(min_stock),
            "default_location_id": get("default_location_id"),
            "default_best_before_days": get("default_best_before_days"),
            "default_best_before_days_after_opening": get("default_best_before_days_after_opening"),
            "default_best_before_days_after_freezing": get(
                "default_best_before_days_after_freezing"
            ),
            "notes": get("notes"),
            "needs_enrichment": bool(get("needs_enrichment", False)),
            "enrichment": get("enrichment"),
            "image_url": get("image_url"),
            "merged_into": get("merged_into"),
            "deleted": self.deleted,
        }

    def barcodes(self) -> list[str]:
        """The codes given at creation, then those added since, less those removed."""
        registers = {
            name[len(BARCODE_PREFIX) :]: bool(value)
            for name, (_, value) in self.fields.values.items()
            if name.startswith(BARCODE_PREFIX)
        }
        base = [code for code in self.fields.get("barcodes", []) if registers.get(code, True)]
        added = sorted(code for code, on in registers.items() if on and code not in base)
        return base + added


@dataclass(slots=True)
class LocationState(_FieldsEntity):
    """A storage location (fridge, freezer, pantry, ...)."""

    kind: Kind = "location"

    def view(self) -> dict[str, Any]:
        """The location as clients see it."""
        get = self.fields.get
        return {
            "id": self.id,
            "name": get("name", "?"),
            "sort_key": get("sort_key"),
            "freezer": bool(get("freezer", False)),
            "deleted": self.deleted,
        }


@dataclass(slots=True)
class SettingsState(_FieldsEntity):
    """The household's settings, one last-writer-wins register each."""

    kind: Kind = "setting"

    def view(self) -> dict[str, Any]:
        """The settings as clients see them (defaults where unset)."""
        return {"due_soon_days": self.fields.get("due_soon_days", DEFAULT_DUE_SOON_DAYS)}


@dataclass(slots=True)
class MatchState(_FieldsEntity):
    """What a shop's printed receipt text turned out to be, as the household confirmed it:
    ``merchant``, ``text`` (both normalised) and ``product_id``, last writer wins."""

    kind: Kind = "match"

    def view(self) -> dict[str, Any]:
        """The learned match."""
        get = self.fields.get
        return {
            "id": self.id,
            "merchant": get("merchant"),
            "text": get("text"),
            "product_id": get("product_id"),
        }


@dataclass(slots=True)
class Recount:
    """An inventory recount: an absolute amount and the deltas it had already seen."""

    lamport: int
    origin: str
    milli: int
    seen: frozenset[str]


@dataclass(slots=True)
class LotState:
    """A lot of one product: stock is a sum of deltas, corrected by the winning recount."""

    id: str
    product_id: str | None = None
    # field -> event id -> (lamport, origin, value); all writes kept so an undo can fall back
    writes: dict[str, dict[str, tuple[int, str, Any]]] = field(default_factory=dict)
    deltas: dict[str, int] = field(default_factory=dict)
    recounts: dict[str, Recount] = field(default_factory=dict)
    undone: set[str] = field(default_factory=set)
    kind: Kind = "lot"

    def write(self, event_id: str, lamport: int, origin: str, name: str, value: Any) -> None:
        """Record an attribute write."""
        self.writes.setdefault(name, {})[event_id] = (lamport, origin, value)

    def attr(self, name: str, default: Any = None) -> Any:
        """The winning write of an attribute among those not undone."""
        best: tuple[Stamp, Any] | None = None
        for event_id, (lamport, origin, value) in self.writes.get(name, {}).items():
            if event_id in self.undone:
                continue
            stamp = (lamport, origin, event_id)
            if best is None or stamp > best[0]:
                best = (stamp, value)
        return default if best is None else best[1]

    @property
    def milli(self) -> int:
        """The current amount in milli-units."""
        winner: tuple[Stamp, Recount] | None = None
        for event_id, recount in self.recounts.items():
            if event_id in self.undone:
                continue
            stamp = (recount.lamport, recount.origin, event_id)
            if winner is None or stamp > winner[0]:
                winner = (stamp, recount)
        base, seen = (0, frozenset[str]()) if winner is None else (winner[1].milli, winner[1].seen)
        return base + sum(
            d for eid, d in self.deltas.items() if eid not in self.undone and eid not in seen
        )

    @property
    def removed(self) -> bool:
        """Whether the lot was removed from stock (and that was not undone)."""
        return bool(self.attr("removed", False))

    @property
    def active(self) -> bool:
        """Whether the lot belongs in the inventory list (in stock, or below zero)."""
        return not self.removed and self.milli != 0

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form of the whole state."""
        return {
            "product_id": self.product_id,
            "writes": {
                name: {eid: list(w) for eid, w in sorted(ws.items())}
                for name, ws in sorted(self.writes.items())
            },
            "deltas": dict(sorted(self.deltas.items())),
            "recounts": {
                eid: [r.lamport, r.origin, r.milli, sorted(r.seen)]
                for eid, r in sorted(self.recounts.items())
            },
            "undone": sorted(self.undone),
        }

    @classmethod
    def from_json(cls, entity_id: str, raw: dict[str, Any]) -> LotState:
        """Rebuild from ``to_json``."""
        return cls(
            entity_id,
            raw.get("product_id"),
            {
                n: {e: (int(w[0]), str(w[1]), w[2]) for e, w in ws.items()}
                for n, ws in raw["writes"].items()
            },
            {e: int(d) for e, d in raw["deltas"].items()},
            {
                e: Recount(int(r[0]), str(r[1]), int(r[2]), frozenset(r[3]))
                for e, r in raw["recounts"].items()
            },
            set(raw["undone"]),
        )

    def view(self) -> dict[str, Any]:
        """The lot as clients see it (names of product and location are joined elsewhere)."""
        milli = self.milli
        return {
            "id": self.id,
            "product_id": self.product_id,
            "location_id": self.attr("location_id"),
            "amount": from_milli(milli),
            "best_before": self.attr("best_before"),
            "use_by": self.attr("use_by"),
            "batch": self.attr("batch"),
            "serial": self.attr("serial"),
            "opened_on": self.attr("opened_on"),
            "frozen_on": self.attr("frozen_on"),
            "purchased_on": self.attr("purchased_on"),
            "source": self.attr("source"),
            "note": self.attr("note"),
            "net_weight": self.attr("net_weight"),
            "net_weight_unit": self.attr("net_weight_unit"),
            "price": self.attr("price"),
            "origin": self.attr("origin"),
            "needs_recount": milli < 0,
            "removed": self.removed,
        }


@dataclass(slots=True)
class ShoppingState:
    """A shopping-list entry: present while any add tag is not tombstoned (add wins)."""

    id: str
    tags: set[str] = field(default_factory=set)
    removed: set[str] = field(default_factory=set)
    fields: LwwFields = field(default_factory=LwwFields)
    kind: Kind = "shopping"

    @property
    def present(self) -> bool:
        """Whether the entry is on the list."""
        return bool(self.tags - self.removed)

    @property
    def live_tags(self) -> list[str]:
        """Tags a removal must name to take the entry off the list."""
        return sorted(self.tags - self.removed)

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-safe form of the whole state."""
        return {
            "tags": sorted(self.tags),
            "removed": sorted(self.removed),
            "fields": self.fields.to_json(),
        }

    @classmethod
    def from_json(cls, entity_id: str, raw: dict[str, Any]) -> ShoppingState:
        """Rebuild from ``to_json``."""
        return cls(
            entity_id, set(raw["tags"]), set(raw["removed"]), LwwFields.from_json(raw["fields"])
        )

    def view(self) -> dict[str, Any]:
        """The entry as clients see it."""
        get = self.fields.get
        amount = get("amount")
        return {
            "id": self.id,
            "product_id": get("product_id"),
            "text": get("text"),
            "amount": 1.0 if amount is None else float(amount),
            "priority": get("priority", "normal"),
            "note": get("note"),
            "auto": bool(get("auto", False)),
            "purchased": bool(get("purchased", False)),
        }


Entity = ProductState | LocationState | LotState | ShoppingState | SettingsState | MatchState

_CLASSES: dict[str, Any] = {
    "setting": SettingsState,
    "match": MatchState,
    "product": ProductState,
    "location": LocationState,
    "lot": LotState,
    "shopping": ShoppingState,
}


def new_entity(kind: Kind, entity_id: str) -> Entity:
    """Return an empty state of ``kind``."""
    entity: Entity = _CLASSES[kind](entity_id)
    return entity


def entity_from_json(kind: Kind, entity_id: str, raw: dict[str, Any]) -> Entity:
    """Rebuild a stored state."""
    entity: Entity = _CLASSES[kind].from_json(entity_id, raw)
    return entity
