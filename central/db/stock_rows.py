"""The dashboard's read tables (``dash_lots``, ``dash_products``), kept in step with the fold.

They are derived from ``entities`` only (migration 006 fills them from it), and written in the
transaction that folds the events, so a list never shows a state the projection does not have.
Lot rows carry their product's and location's names so the household stock list sorts,
filters and pages on indexes alone; a rename rewrites the names of that product's lots.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.entities import (
    Entity,
    Kind,
    LocationState,
    LotState,
    ProductState,
    entity_from_json,
)
from appliance.core.events import Event, parse_event
from appliance.core.stock import EARLIEST_PLAUSIBLE_DAY
from appliance.store.merges import resolve

_USAGE = (ev.STOCK_CONSUMED, ev.STOCK_SPOILED)


def _product_row(product: ProductState) -> tuple[Any, ...]:
    view = product.view()
    live = not view["deleted"] and view["merged_into"] is None
    return (
        product.id,
        str(view["name"]),
        view["category"],
        str(view["unit"] or "piece"),
        None if view["min_stock"] is None else Decimal(str(view["min_stock"])),
        live,
        view["merged_into"],
    )


def unit_price(lot: LotState) -> tuple[Decimal, int] | None:
    """The lot's price per unit and the Lamport clock of the write that set it: the price
    its purchase carried (a receipt line's total, a GS1 price) over the amount bought."""
    best: tuple[int, str, str] | None = None
    value: Any = None
    for event_id, (lamport, origin, price) in lot.writes.get("price", {}).items():
        if event_id in lot.undone or price is None:
            continue
        if best is None or (lamport, origin, event_id) > best:
            best, value = (lamport, origin, event_id), price
    if best is None:
        return None
    bought = lot.deltas.get(best[2])
    if not bought or bought <= 0:
        return None
    return Decimal(str(value)) * 1000 / bought, best[0]


def _lot_row(lot: LotState) -> tuple[Any, ...]:
    view = lot.view()
    priced = unit_price(lot)
    return (
        lot.id,
        lot.product_id,
        view["location_id"],
        str(view["origin"] or ""),
        Decimal(str(view["amount"])),
        view["best_before"],
        view["use_by"],
        view["opened_on"],
        None if priced is None else priced[0],
    )


async def refresh(conn: asyncpg.Connection, changed: Iterable[Entity]) -> None:
    """Bring the read tables up to date with entities changed in this transaction."""
    changed = list(changed)
    touched = sorted(
        {e.id for e in changed if isinstance(e, ProductState)}
        | {e.product_id for e in changed if isinstance(e, LotState) and e.product_id}
    )
    owners: set[str] = set()
    if touched:
        # First lock the products' rows (made if missing) and their owners', in key order: a
        # batch adding lots of a product and one renaming it (or adding other lots of it)
        # then take turns, and under READ COMMITTED each later statement sees what the
        # other committed. Without this, a rename could miss a lot inserted at the same
        # time, or a stock sum a lot.
        await conn.execute(
            """INSERT INTO dash_products (product_id, name, live, owner)
               SELECT id, '', false, id FROM unnest($1::uuid[]) AS t(id) ORDER BY id
               ON CONFLICT DO NOTHING""",
            touched,
        )
        owners = {
            str(r["owner"])
            for r in await conn.fetch(
                "SELECT owner FROM dash_products WHERE product_id = ANY($1::uuid[])", touched
            )
        }
        await conn.execute(
            """SELECT 1 FROM dash_products WHERE product_id = ANY($1::uuid[])
               ORDER BY product_id FOR UPDATE""",
            sorted(set(touched) | owners),
        )
    moved = await _refresh_rows(conn, changed)
    if touched:
        # Each product's stock over the lots that read as it, for below-min counts without
        # an aggregate.
        await conn.execute(
            """UPDATE dash_products p SET stock = coalesce(
                   (SELECT sum(d.amount) FROM dash_lots d WHERE d.owner_id = p.product_id), 0)
               WHERE p.product_id = ANY($1::uuid[])""",
            sorted(set(touched) | owners | moved),
        )


async def _resolve_owners(conn: asyncpg.Connection) -> set[str]:
    """Re-resolve which product each merged one reads as; re-point their lots. Returns the
    products whose lots changed hands (old and new owners)."""
    rows = await conn.fetch(
        """SELECT product_id::text AS id, merged_into::text AS into, owner::text AS owner
           FROM dash_products WHERE merged_into IS NOT NULL OR owner <> product_id"""
    )
    links = {r["id"]: r["into"] for r in rows if r["into"] is not None}
    survivors = resolve(links)
    changes = [
        (r["id"], survivors.get(r["id"], r["id"]))
        for r in rows
        if survivors.get(r["id"], r["id"]) != r["owner"]
    ]
    if not changes:
        return set()
    moved = {r["owner"] for r in rows if r["id"] in dict(changes)} | {o for _, o in changes}
    await conn.executemany(
        "UPDATE dash_products SET owner = $2 WHERE product_id = $1", sorted(changes)
    )
    await conn.execute(
        """UPDATE dash_lots d SET owner_id = p.owner, product_name = o.name,
                  name_key = lower(o.name), category = o.category, unit = o.unit
           FROM dash_products p JOIN dash_products o ON o.product_id = p.owner
           WHERE p.product_id = ANY($1::uuid[]) AND d.product_id = p.product_id""",
        [pid for pid, _ in changes],
    )
    return moved


async def _refresh_rows(conn: asyncpg.Connection, changed: list[Entity]) -> set[str]:
    products = [e for e in changed if isinstance(e, ProductState)]
    locations = [e.id for e in changed if isinstance(e, LocationState)]
    lots = [e for e in changed if isinstance(e, LotState)]
    moved: set[str] = set()
    if products:
        before = {
            str(r["product_id"]): r["merged_into"]
            for r in await conn.fetch(
                "SELECT product_id, merged_into::text FROM dash_products"
                " WHERE product_id = ANY($1::uuid[])",
                [p.id for p in products],
            )
        }
        rows = [_product_row(p) for p in products]
        await conn.executemany(
            """INSERT INTO dash_products (product_id, name, category, unit, min_stock, live,
                                          merged_into, owner)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $1)
               ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name,
                   category = EXCLUDED.category, unit = EXCLUDED.unit,
                   min_stock = EXCLUDED.min_stock, live = EXCLUDED.live,
                   merged_into = EXCLUDED.merged_into""",
            rows,
        )
        await conn.execute(
            """UPDATE dash_lots d SET product_name = o.name, name_key = lower(o.name),
                      category = o.category, unit = o.unit
               FROM dash_products o
               WHERE o.product_id = ANY($1::uuid[]) AND d.owner_id = o.product_id""",
            [p.id for p in products],
        )
        if any(before.get(row[0]) != row[6] for row in rows):
            moved = await _resolve_owners(conn)
    if locations:
        await conn.execute(
            """UPDATE dash_lots d SET location_name = coalesce(loc.view->>'name', '')
               FROM entities loc
               WHERE loc.kind = 'location' AND loc.id = ANY($1::uuid[])
                 AND d.location_id = loc.id""",
            locations,
        )
    prices = sorted(
        (lot.product_id, priced[0], priced[1])
        for lot in lots
        if lot.product_id and (priced := unit_price(lot)) is not None
    )
    if prices:
        await conn.executemany(
            """UPDATE dash_products SET unit_price = $2, price_stamp = $3
               WHERE product_id = $1 AND coalesce(price_stamp, -1) < $3""",
            prices,
        )
    if not lots:
        return moved
    gone = [lot.id for lot in lots if not lot.active]
    if gone:
        await conn.execute("DELETE FROM dash_lots WHERE lot_id = ANY($1::uuid[])", gone)
    live = [_lot_row(lot) for lot in lots if lot.active]
    if not live:
        return moved
    columns = list(zip(*live, strict=True))
    await conn.execute(
        """INSERT INTO dash_lots (lot_id, product_id, owner_id, location_id, node, amount,
                                  best_before, use_by, opened_on, unit_price, product_name,
                                  name_key, category, unit, location_name)
           SELECT u.lot_id, u.product_id, coalesce(p.owner, u.product_id), u.location_id,
                  u.node, u.amount, u.best_before, u.use_by, u.opened_on, u.unit_price,
                  coalesce(o.name, ''), lower(coalesce(o.name, '')), o.category,
                  coalesce(o.unit, 'piece'), coalesce(loc.view->>'name', '')
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[],
                       $6::text[], $7::text[], $8::text[], $9::numeric[])
                AS u(lot_id, product_id, location_id, node, amount, best_before, use_by,
                     opened_on, unit_price)
           LEFT JOIN dash_products p ON p.product_id = u.product_id
           LEFT JOIN dash_products o ON o.product_id = coalesce(p.owner, u.product_id)
           LEFT JOIN entities loc ON loc.kind = 'location' AND loc.id = u.location_id
           ON CONFLICT (lot_id) DO UPDATE SET product_id = EXCLUDED.product_id,
               owner_id = EXCLUDED.owner_id,
               location_id = EXCLUDED.location_id, node = EXCLUDED.node,
               amount = EXCLUDED.amount, best_before = EXCLUDED.best_before,
               use_by = EXCLUDED.use_by, opened_on = EXCLUDED.opened_on,
               unit_price = EXCLUDED.unit_price,
               product_name = EXCLUDED.product_name, name_key = EXCLUDED.name_key,
               category = EXCLUDED.category, unit = EXCLUDED.unit,
               location_name = EXCLUDED.location_name""",
        *columns,
    )
    return moved


def _day(timestamp: str) -> date | None:
    """The date of an event's timestamp (a node's clock), None when it cannot be right."""
    try:
        day = date.fromisoformat(timestamp[:10])
    except ValueError:
        return None
    return day if day >= EARLIEST_PLAUSIBLE_DAY else None


async def record_usage(conn: asyncpg.Connection, events: Iterable[Event]) -> None:
    """Consume and spoil events (and undos of them) into ``dash_usage`` for the statistics."""
    rows = []
    undone = []
    for event in events:
        if event.type in _USAGE:
            amount = sum(Decimal(str(part["amount"])) for part in event.data["lots"])
            spoiled = event.type == ev.STOCK_SPOILED
            day = _day(event.timestamp)
            rows.append((event.event_id, spoiled, event.data["product_id"], amount, day))
        elif event.type == ev.JOURNAL_UNDONE:
            undone.append(event.data["target"])
    if undone:
        await conn.executemany(
            "INSERT INTO dash_undone (target) VALUES ($1) ON CONFLICT DO NOTHING",
            [(t,) for t in undone],
        )
        await conn.execute(
            "UPDATE dash_usage SET undone = true WHERE event_id = ANY($1::uuid[])", undone
        )
    if rows:
        await conn.executemany(
            """INSERT INTO dash_usage (event_id, spoiled, product_id, amount, day, undone)
               VALUES ($1, $2, $3, $4, $5,
                       EXISTS (SELECT 1 FROM dash_undone WHERE target = $1))
               ON CONFLICT DO NOTHING""",
            rows,
        )


async def rebuild(pool: asyncpg.Pool, page: int = 2000) -> bool:
    """Fill the read tables from ``entities`` and ``events`` when migration 006 found data;
    return whether it did. One transaction, with the code that keeps them up to date."""
    async with pool.acquire() as conn, conn.transaction():
        built = await conn.fetchval("SELECT built FROM dash_state FOR UPDATE")
        if built:
            return False
        for kind in ("product", "location", "lot"):
            after = "00000000-0000-0000-0000-000000000000"
            while True:
                rows = await conn.fetch(
                    """SELECT id::text AS id, state::text AS state FROM entities
                       WHERE kind = $1 AND id > $2::uuid AND state <> 'null'
                       ORDER BY id LIMIT $3""",
                    kind,
                    after,
                    page,
                )
                if not rows:
                    break
                entity_kind: Kind = kind
                await refresh(
                    conn,
                    [entity_from_json(entity_kind, r["id"], json.loads(r["state"])) for r in rows],
                )
                after = rows[-1]["id"]
        after_pos = 0
        while True:
            rows = await conn.fetch(
                """SELECT pos, payload::text AS payload FROM events
                   WHERE type = ANY($1::text[]) AND pos > $2 ORDER BY pos LIMIT $3""",
                [*_USAGE, ev.JOURNAL_UNDONE],
                after_pos,
                page,
            )
            if not rows:
                break
            await record_usage(conn, [parse_event(json.loads(r["payload"])) for r in rows])
            after_pos = rows[-1]["pos"]
        await conn.execute("UPDATE dash_state SET built = true")
    return True
