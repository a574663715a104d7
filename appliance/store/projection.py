"""Rows of the projection tables, derived from entity states.

Each row keeps the full CRDT state (to go on folding) and the client view as JSON (so a
list is served by concatenating stored JSON instead of decoding and encoding it again),
plus the columns that queries filter and sort on.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from appliance.core.amounts import to_milli
from appliance.core.entities import (
    Entity,
    LocationState,
    LotState,
    MatchState,
    ProductState,
    SettingsState,
    ShoppingState,
)

PRIORITY_RANK = {"urgent": 0, "normal": 1, "low": 2}
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
_SORTED = orjson.OPT_SORT_KEYS


def dumps(value: Any) -> str:
    """Compact, canonical JSON (sorted keys, UTF-8 kept).

    orjson (every scan writes a few of these); ``json`` for what orjson refuses (an integer
    beyond 64 bits, a key that is not a string).
    """
    try:
        return orjson.dumps(value, option=_SORTED).decode()
    except TypeError:
        return _dumps(value)


def product_row(p: ProductState) -> tuple[Any, ...]:
    """Row for ``products``."""
    view = p.view()
    min_stock = view["min_stock"]
    return (
        p.id,
        view["name"],
        view["name"].casefold(),
        view["brand"],
        view["category"],
        view["unit"],
        None if min_stock is None else to_milli(min_stock),
        int(p.deleted),
        int(view["needs_enrichment"]),
        dumps(view),
        dumps(p.to_json()),
    )


def location_row(loc: LocationState) -> tuple[Any, ...]:
    """Row for ``locations``."""
    view = loc.view()
    return (loc.id, view["name"], int(loc.deleted), dumps(view), dumps(loc.to_json()))


def lot_row(lot: LotState, names: LotNames | None = None) -> tuple[Any, ...]:
    """Row for ``lots``; the view carries the product's and location's names.

    Keeping the names in the stored view lets a list of 20,000 lots be concatenated
    without a join; a rename rewrites them (see ``WriteTx.flush``).
    """
    view = lot.view()
    product_name, unit, location_name = names or (None, "piece", None)
    view["product_name"] = product_name
    view["unit"] = unit
    view["location_name"] = location_name
    return (
        lot.id,
        lot.product_id,
        view["location_id"],
        lot.milli,
        view["best_before"],
        view["opened_on"],
        int(lot.active),
        dumps(view),
        dumps(lot.to_json()),
    )


LotNames = tuple[str | None, str, str | None]  # product name, unit, location name


def shopping_row(entry: ShoppingState) -> tuple[Any, ...]:
    """Row for ``shopping``."""
    view = entry.view()
    return (
        entry.id,
        view["product_id"],
        PRIORITY_RANK.get(view["priority"], 1),
        int(view["purchased"]),
        int(view["auto"]),
        int(entry.present),
        dumps(view),
        dumps(entry.to_json()),
    )


def settings_row(entity: SettingsState) -> tuple[Any, ...]:
    """Row for ``settings``."""
    return (entity.id, dumps(entity.view()), dumps(entity.to_json()))


def match_row(entity: MatchState) -> tuple[Any, ...]:
    """Row for ``receipt_matches``."""
    return (entity.id, dumps(entity.view()), dumps(entity.to_json()))


UPSERTS: dict[str, str] = {
    "setting": "INSERT OR REPLACE INTO settings VALUES (?,?,?)",
    "match": "INSERT OR REPLACE INTO receipt_matches VALUES (?,?,?)",
    "product": "INSERT OR REPLACE INTO products VALUES (?,?,?,?,?,?,?,?,?,?,?)",
    "location": "INSERT OR REPLACE INTO locations VALUES (?,?,?,?,?)",
    # An update in place, not a REPLACE: the triggers that keep ``product_stock`` see the
    # row's old product too (a REPLACE deletes it without firing them).
    "lot": "INSERT INTO lots VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
    " product_id = excluded.product_id, location_id = excluded.location_id,"
    " amount = excluded.amount, best_before = excluded.best_before,"
    " opened_on = excluded.opened_on, active = excluded.active, view = excluded.view,"
    " state = excluded.state",
    "shopping": "INSERT OR REPLACE INTO shopping VALUES (?,?,?,?,?,?,?,?)",
}
TABLES: dict[str, str] = {
    "setting": "settings",
    "match": "receipt_matches",
    "product": "products",
    "location": "locations",
    "lot": "lots",
    "shopping": "shopping",
}


def row_of(entity: Entity, names: LotNames | None = None) -> tuple[Any, ...]:
    """The projection row of any entity (``names`` only matter for lots)."""
    if isinstance(entity, ProductState):
        return product_row(entity)
    if isinstance(entity, LocationState):
        return location_row(entity)
    if isinstance(entity, LotState):
        return lot_row(entity, names)
    if isinstance(entity, SettingsState):
        return settings_row(entity)
    if isinstance(entity, MatchState):
        return match_row(entity)
    return shopping_row(entity)
