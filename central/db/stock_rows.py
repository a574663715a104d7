"""The dashboard's read tables (``dash_lots``, ``dash_products``), kept in step with the fold.

They are derived from ``entities`` only (migration 006 fills them from it), and written in the
transaction that folds the events, so a list never shows a state the projection does not have.
Lot rows carry their product's and location's names so the household stock list sorts,
filters and pages on indexes alone; a rename rewrites the names of that product's lots.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import asyncpg

from appliance.core.entities import Entity, LocationState, LotState, ProductState


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
    )


def _lot_row(lot: LotState) -> tuple[Any, ...]:
    view = lot.view()
    return (
        lot.id,
        lot.product_id,
        view["location_id"],
        str(view["origin"] or ""),
        Decimal(str(view["amount"])),
        view["best_before"],
        view["use_by"],
        view["opened_on"],
    )


async def refresh(conn: asyncpg.Connection, changed: Iterable[Entity]) -> None:
    """Bring the read tables up to date with entities changed in this transaction."""
    products = [e for e in changed if isinstance(e, ProductState)]
    locations = [e.id for e in changed if isinstance(e, LocationState)]
    lots = [e for e in changed if isinstance(e, LotState)]
    if products:
        await conn.executemany(
            """INSERT INTO dash_products (product_id, name, category, unit, min_stock, live)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (product_id) DO UPDATE SET name = EXCLUDED.name,
                   category = EXCLUDED.category, unit = EXCLUDED.unit,
                   min_stock = EXCLUDED.min_stock, live = EXCLUDED.live""",
            [_product_row(p) for p in products],
        )
        await conn.execute(
            """UPDATE dash_lots d SET product_name = p.name, name_key = lower(p.name),
                      category = p.category, unit = p.unit
               FROM dash_products p
               WHERE p.product_id = ANY($1::uuid[]) AND d.product_id = p.product_id""",
            [p.id for p in products],
        )
    if locations:
        await conn.execute(
            """UPDATE dash_lots d SET location_name = coalesce(loc.view->>'name', '')
               FROM entities loc
               WHERE loc.kind = 'location' AND loc.id = ANY($1::uuid[])
                 AND d.location_id = loc.id""",
            locations,
        )
    if not lots:
        return
    gone = [lot.id for lot in lots if not lot.active]
    if gone:
        await conn.execute("DELETE FROM dash_lots WHERE lot_id = ANY($1::uuid[])", gone)
    live = [_lot_row(lot) for lot in lots if lot.active]
    if not live:
        return
    columns = list(zip(*live, strict=True))
    await conn.execute(
        """INSERT INTO dash_lots (lot_id, product_id, location_id, node, amount, best_before,
                                  use_by, opened_on, product_name, name_key, category, unit,
                                  location_name)
           SELECT u.lot_id, u.product_id, u.location_id, u.node, u.amount, u.best_before,
                  u.use_by, u.opened_on, coalesce(p.name, ''), lower(coalesce(p.name, '')),
                  p.category, coalesce(p.unit, 'piece'), coalesce(loc.view->>'name', '')
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[],
                       $6::text[], $7::text[], $8::text[])
                AS u(lot_id, product_id, location_id, node, amount, best_before, use_by,
                     opened_on)
           LEFT JOIN dash_products p ON p.product_id = u.product_id
           LEFT JOIN entities loc ON loc.kind = 'location' AND loc.id = u.location_id
           ON CONFLICT (lot_id) DO UPDATE SET product_id = EXCLUDED.product_id,
               location_id = EXCLUDED.location_id, node = EXCLUDED.node,
               amount = EXCLUDED.amount, best_before = EXCLUDED.best_before,
               use_by = EXCLUDED.use_by, opened_on = EXCLUDED.opened_on,
               product_name = EXCLUDED.product_name, name_key = EXCLUDED.name_key,
               category = EXCLUDED.category, unit = EXCLUDED.unit,
               location_name = EXCLUDED.location_name""",
        *columns,
    )
