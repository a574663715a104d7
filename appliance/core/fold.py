"""The fold: how one event changes the entities it touches. Written once, used everywhere.

``apply_event`` is pure: the caller loads the touched entities (from a dict, SQLite or
PostgreSQL), passes them in, and stores what comes back. Applying the same set of events in
any order, with any duplicates filtered by event id, yields the same states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import to_milli
from appliance.core.entities import (
    BARCODE_PREFIX,
    Entity,
    Kind,
    LocationState,
    LotState,
    MatchState,
    ProductState,
    Recount,
    SettingsState,
    ShoppingState,
    new_entity,
)
from appliance.core.events import Event

EntityKey = tuple[Kind, str]
Loader = Callable[[Kind, str], Entity | None]

_PRODUCT_TYPES = {
    ev.PRODUCT_CREATED,
    ev.PRODUCT_UPDATED,
    ev.PRODUCT_DELETED,
    ev.PRODUCT_BARCODES,
    ev.PRODUCT_MERGED,
}
_LOCATION_TYPES = {ev.LOCATION_CREATED, ev.LOCATION_UPDATED, ev.LOCATION_DELETED}
_SHOPPING_TYPES = {
    ev.SHOPPING_ADDED,
    ev.SHOPPING_UPDATED,
    ev.SHOPPING_PURCHASED,
    ev.SHOPPING_REMOVED,
}


def touched(event: Event) -> list[EntityKey]:
    """Return the entities an event changes, in a stable order."""
    data = event.data
    t = event.type
    if t in _PRODUCT_TYPES:
        return [("product", event.entity_id)]
    if t in _LOCATION_TYPES:
        return [("location", event.entity_id)]
    if t in _SHOPPING_TYPES:
        return [("shopping", event.entity_id)]
    if t == ev.SETTINGS_CHANGED:
        return [("setting", event.entity_id)]
    if t == ev.MATCH_LEARNED:
        return [("match", event.entity_id)]
    if t == ev.STOCK_PURCHASED:
        settled: list[EntityKey] = [("lot", s["lot_id"]) for s in data.get("settles", [])]
        return _unique([("lot", event.entity_id), *settled])
    if t in (ev.STOCK_CONSUMED, ev.STOCK_SPOILED):
        return _unique([("lot", entry["lot_id"]) for entry in data["lots"]])
    if t in (ev.STOCK_OPENED, ev.STOCK_TRANSFERRED):
        keys: list[EntityKey] = [("lot", data["lot_id"])]
        if data.get("new_lot_id"):
            keys.append(("lot", data["new_lot_id"]))
        return _unique(keys)
    if t in (ev.STOCK_RECOUNTED, ev.STOCK_REMOVED, ev.LOT_UPDATED):
        return [("lot", data["lot_id"])]
    if t == ev.JOURNAL_UNDONE:
        return _unique([("lot", lot_id) for lot_id in data["lot_ids"]])
    raise ev.EventError(f"unknown event type {t!r}")


def _unique(keys: list[EntityKey]) -> list[EntityKey]:
    return list(dict.fromkeys(keys))


def apply_event(event: Event, load: Loader) -> list[Entity]:
    """Apply ``event`` to the entities it touches; return them (created when missing).

    The caller must apply each event id once; applying the same event twice would count a
    lot delta once anyway (deltas are keyed by event id), but tags and writes stay exact
    only with the caller's de-duplication.
    """
    entities: dict[EntityKey, Entity] = {}
    for kind, entity_id in touched(event):
        entities[(kind, entity_id)] = load(kind, entity_id) or new_entity(kind, entity_id)
    handler = _HANDLERS[event.type]
    handler(event, entities)
    return list(entities.values())


# --- handlers -----------------------------------------------------------------------------

Handlers = dict[EntityKey, Entity]


def _lot(entities: Handlers, entity_id: str, product_id: str | None = None) -> LotState:
    entity = entities[("lot", entity_id)]
    assert isinstance(entity, LotState)
    # A lot never changes product; should two events disagree, the smaller id wins so the
    # outcome does not depend on which arrived first.
    if product_id is not None and (entity.product_id is None or product_id < entity.product_id):
        entity.product_id = product_id
    return entity


def _shopping(entities: Handlers, entity_id: str) -> ShoppingState:
    entity = entities[("shopping", entity_id)]
    assert isinstance(entity, ShoppingState)
    return entity


_CREATED = {ev.PRODUCT_CREATED, ev.LOCATION_CREATED}
_DELETED = {ev.PRODUCT_DELETED, ev.LOCATION_DELETED}


def _on_fields_entity(event: Event, entities: Handlers) -> None:
    """Products and locations: last-writer-wins fields, ``deleted`` among them."""
    (entity,) = entities.values()
    assert isinstance(entity, ProductState | LocationState | SettingsState | MatchState)
    if event.type == ev.PRODUCT_BARCODES:
        for code in event.data.get("add", []):
            entity.fields.write(event.stamp, BARCODE_PREFIX + code, True)
        for code in event.data.get("remove", []):
            entity.fields.write(event.stamp, BARCODE_PREFIX + code, False)
        return
    if event.type == ev.PRODUCT_MERGED:
        entity.fields.write(event.stamp, "merged_into", event.data["into"])
        return
    if event.type in _DELETED:
        entity.fields.write(event.stamp, "deleted", True)
        return
    for name, value in event.data["fields"].items():
        entity.fields.write(event.stamp, name, value)
    if event.type in _CREATED:
        entity.fields.write(event.stamp, "deleted", False)


def _write_lot_fields(lot: LotState, event: Event, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        lot.write(event.event_id, event.lamport, event.origin, name, value)


def _on_purchased(event: Event, entities: Handlers) -> None:
    lot = _lot(entities, event.entity_id, event.data["product_id"])
    _write_lot_fields(lot, event, event.data["lot"])
    lot.write(event.event_id, event.lamport, event.origin, "origin", event.origin)
    lot.deltas[event.event_id] = to_milli(event.data["amount"])
    for settled in event.data.get("settles", []):
        # The shortfall this node knew of is closed: zero as of the deltas it had seen. A
        # consume it had not seen (another node, offline) still counts, and asks for a recount.
        deficit = _lot(entities, settled["lot_id"], event.data["product_id"])
        deficit.recounts[event.event_id] = Recount(
            event.lamport, event.origin, 0, frozenset(settled["seen"])
        )


def _on_taken(event: Event, entities: Handlers) -> None:
    product_id = event.data["product_id"]
    totals: dict[str, int] = {}
    for entry in event.data["lots"]:
        totals[entry["lot_id"]] = totals.get(entry["lot_id"], 0) + to_milli(entry["amount"])
    for lot_id, milli in totals.items():
        _lot(entities, lot_id, product_id).deltas[event.event_id] = -milli


def _on_split_or_set(event: Event, entities: Handlers, name: str, value: Any) -> None:
    """Open or transfer: the whole lot changes ``name``, or a part moves into a new lot."""
    data = event.data
    source = _lot(entities, data["lot_id"], data["product_id"])
    new_lot_id = data.get("new_lot_id")
    if not new_lot_id:
        source.write(event.event_id, event.lamport, event.origin, name, value)
        _write_lot_fields(source, event, data.get("fields", {}))
        return
    milli = to_milli(data["amount"])
    source.deltas[event.event_id] = -milli
    target = _lot(entities, new_lot_id, data["product_id"])
    _write_lot_fields(target, event, data.get("lot", {}))
    target.write(event.event_id, event.lamport, event.origin, name, value)
    _write_lot_fields(target, event, data.get("fields", {}))
    target.write(event.event_id, event.lamport, event.origin, "origin", event.origin)
    target.deltas[event.event_id] = milli


def _on_opened(event: Event, entities: Handlers) -> None:
    _on_split_or_set(event, entities, "opened_on", event.data["opened_on"])


def _on_transferred(event: Event, entities: Handlers) -> None:
    _on_split_or_set(event, entities, "location_id", event.data["location_id"])


def _on_recounted(event: Event, entities: Handlers) -> None:
    lot = _lot(entities, event.data["lot_id"], event.data["product_id"])
    lot.recounts[event.event_id] = Recount(
        event.lamport, event.origin, to_milli(event.data["amount"]), frozenset(event.data["seen"])
    )


def _on_removed(event: Event, entities: Handlers) -> None:
    lot = _lot(entities, event.data["lot_id"], event.data["product_id"])
    lot.write(event.event_id, event.lamport, event.origin, "removed", True)


def _on_lot_updated(event: Event, entities: Handlers) -> None:
    lot = _lot(entities, event.data["lot_id"], event.data["product_id"])
    _write_lot_fields(lot, event, event.data["fields"])


def _on_undone(event: Event, entities: Handlers) -> None:
    for lot_id in event.data["lot_ids"]:
        _lot(entities, lot_id).undone.add(event.data["target"])


def _on_shopping(event: Event, entities: Handlers) -> None:
    entry = _shopping(entities, event.entity_id)
    if event.type == ev.SHOPPING_REMOVED:
        entry.removed.update(event.data["tags"])
        return
    if event.type == ev.SHOPPING_PURCHASED:
        entry.fields.write(event.stamp, "purchased", True)
        return
    if event.type == ev.SHOPPING_ADDED:
        entry.tags.add(event.event_id)
    for name, value in event.data["fields"].items():
        entry.fields.write(event.stamp, name, value)


_HANDLERS: dict[str, Callable[[Event, Handlers], None]] = {
    **dict.fromkeys(_PRODUCT_TYPES | _LOCATION_TYPES, _on_fields_entity),
    ev.SETTINGS_CHANGED: _on_fields_entity,
    ev.MATCH_LEARNED: _on_fields_entity,
    **dict.fromkeys(_SHOPPING_TYPES, _on_shopping),
    ev.STOCK_PURCHASED: _on_purchased,
    ev.STOCK_CONSUMED: _on_taken,
    ev.STOCK_SPOILED: _on_taken,
    ev.STOCK_OPENED: _on_opened,
    ev.STOCK_TRANSFERRED: _on_transferred,
    ev.STOCK_RECOUNTED: _on_recounted,
    ev.STOCK_REMOVED: _on_removed,
    ev.LOT_UPDATED: _on_lot_updated,
    ev.JOURNAL_UNDONE: _on_undone,
}


@dataclass
class Household:
    """The whole household state in memory: the reference fold (tests, central, tools)."""

    entities: dict[EntityKey, Entity] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)

    def apply(self, event: Event) -> list[Entity]:
        """Apply an event once; a duplicate event id changes nothing and returns []."""
        if event.event_id in self.applied:
            return []
        self.applied.add(event.event_id)
        changed = apply_event(event, lambda kind, eid: self.entities.get((kind, eid)))
        for entity in changed:
            self.entities[(entity.kind, entity.id)] = entity
        return changed

    def apply_all(self, events: Iterable[Event]) -> None:
        """Apply many events."""
        for event in events:
            self.apply(event)

    def snapshot(self) -> dict[str, Any]:
        """A canonical JSON-safe form of every entity's full state, for comparisons."""
        return {
            f"{kind}:{eid}": entity.to_json()
            for (kind, eid), entity in sorted(self.entities.items())
        }
