"""The Grocy-compatible API on central (``/grocy/api/...``): the household's reads.

The same shapes as the node's (``appliance.core.grocy_shapes``) over central's folded
entities in PostgreSQL, and the same integer ids (``grocy_ids``, migration 009). Stock and
shopping-list writes are central's own commands (``central.grocy_writes``); the writes it
does not do are refused with Grocy's 400 and a message that says where to send them (a node).
The key is a central API token (``kitchen-central token create``), sent as ``GROCY-API-KEY``.
"""

from __future__ import annotations

import contextlib
import json
import platform
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from aiohttp import web

from appliance.core import grocy_ids, grocy_query, grocy_shapes
from appliance.core.barcode import ScanError, normalize_gtin
from appliance.core.entities import DEFAULT_DUE_SOON_DAYS, SETTINGS_ID, LotState, entity_from_json
from appliance.core.grocy_shapes import Ints
from appliance.core.stock import due_soon_limit, plausible_today
from appliance.grocy.http import GrocyError, int_param, ok
from central.db import grocy_index

PREFIX = "/grocy/api"
POOL = web.AppKey("grocy_pool", asyncpg.Pool)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READ_ONLY = (
    "central does not make this kind of Grocy object (only products and product_barcodes): "
    "send it to a node's /grocy/api/"
)


# --- reads -----------------------------------------------------------------------------------


async def _views(pool: asyncpg.Pool, kind: str) -> dict[str, dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT id::text AS id, view::text AS view,"
        " CASE WHEN view->>'price' IS NOT NULL THEN state::text END AS state"
        " FROM entities WHERE kind = $1 AND active ORDER BY id",
        kind,
    )
    views = {}
    for row in rows:
        view = json.loads(row["view"])
        if kind == "lot" and row["state"] is not None:
            lot = entity_from_json("lot", row["id"], json.loads(row["state"]))
            view["unit_price"] = grocy_shapes.unit_price(lot) if isinstance(lot, LotState) else None
        views[row["id"]] = view
    return views


async def _ints(pool: asyncpg.Pool, *kinds: str) -> Ints:
    wanted = list(kinds or ("product", "location", "quantity_unit", "barcode", "shopping", "lot"))
    rows = await pool.fetch(
        "SELECT kind, key, int_id FROM grocy_ids WHERE kind = ANY($1::text[])", wanted
    )
    result = Ints()
    for row in rows:
        result.by_kind.setdefault(row["kind"], {})[row["key"]] = int(row["int_id"])
    result.by_kind["quantity_unit"] = await grocy_index.units(pool)
    return result


async def _key_of(pool: asyncpg.Pool, kind: str, value: int) -> str | None:
    key = await pool.fetchval(
        "SELECT key FROM grocy_ids WHERE kind = $1 AND int_id = $2", kind, value
    )
    return None if key is None else str(key)


def _live(products: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Products that are not merged into another (central's read API does not resolve
    merges; their lots count for the product they were merged into)."""
    return {pid: view for pid, view in products.items() if not view.get("merged_into")}


def _owner(products: dict[str, dict[str, Any]], product_id: str) -> str:
    seen = 0
    while (target := (products.get(product_id) or {}).get("merged_into")) and seen < 20:
        product_id, seen = str(target), seen + 1
    return product_id


async def _stock(
    pool: asyncpg.Pool, products: dict[str, dict[str, Any]]
) -> dict[str, grocy_shapes.ProductStock]:
    lots = list((await _views(pool, "lot")).values())
    for lot in lots:
        if lot.get("product_id"):
            lot["product_id"] = _owner(products, str(lot["product_id"]))
    return grocy_shapes.summarise(lots)


async def _product(pool: asyncpg.Pool, value: int) -> tuple[str, dict[str, dict[str, Any]]]:
    products = await _views(pool, "product")
    key = await _key_of(pool, "product", value)
    if key is not None:
        key = _owner(products, key)
        if key in _live(products):
            return key, products
    raise GrocyError(f"Product does not exist or is inactive (id {value})")


async def _details(request: web.Request, product_id: str, products: dict[str, Any]) -> web.Response:
    pool = request.app[POOL]
    view = products[product_id]
    held = (await _stock(pool, products)).get(product_id)
    places = await _views(pool, "location")
    place = places.get(view.get("default_location_id") or "")
    return ok(grocy_shapes.product_details(view, held, await _ints(pool), location_view=place))


def _get(path: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(("GET", PREFIX + path, handler))
        return handler

    return register


ROUTES: list[tuple[str, str, Handler]] = []


@_get("/system/info")
async def system_info(request: web.Request) -> web.StreamResponse:
    """The Grocy version central answers as, like a node."""
    import sqlite3

    return ok(
        {
            "grocy_version": grocy_shapes.GROCY_VERSION,
            "php_version": "none (kitchen-central, Python " + platform.python_version() + ")",
            "sqlite_version": sqlite3.sqlite_version,
            "os": platform.system(),
            "client": request.headers.get("User-Agent", "")[:200],
        }
    )


@_get("/system/config")
async def system_config(request: web.Request) -> web.StreamResponse:
    """The node's settings, with the shopping list read-only here."""
    base = f"{request.scheme}://{request.host}/grocy"
    return ok(grocy_shapes.system_config(base_url=base, currency="EUR", locale="en"))


@_get("/system/db-changed-time")
async def db_changed_time(request: web.Request) -> web.StreamResponse:
    """When central's projection last changed (central's clock)."""
    changed = await request.app[POOL].fetchval("SELECT max(updated_at) FROM entities")
    moment = (changed or datetime.fromtimestamp(0, tz=UTC)).astimezone()
    return ok({"changed_time": moment.strftime("%Y-%m-%d %H:%M:%S")})


@_get("/system/time")
async def system_time(request: web.Request) -> web.StreamResponse:
    """Central's clock."""
    now = time.time()
    local = datetime.fromtimestamp(now).astimezone()
    offset = local.utcoffset()
    return ok(
        {
            "timezone": local.tzname() or "UTC",
            "time_local": local.strftime("%Y-%m-%d %H:%M:%S"),
            "time_local_sqlite3": local.strftime("%Y-%m-%d %H:%M:%S"),
            "time_utc": datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "timestamp": int(now),
            "offset": int(offset.total_seconds()) if offset else 0,
        }
    )


async def _empty(request: web.Request) -> web.StreamResponse:
    return ok([])


for _feature in ("chores", "batteries", "tasks"):
    ROUTES.append(("GET", f"{PREFIX}/{_feature}", _empty))


@_get("/stock")
async def stock(request: web.Request) -> web.StreamResponse:
    """Every product in stock in the household."""
    pool = request.app[POOL]
    products = await _views(pool, "product")
    live = _live(products)
    held = await _stock(pool, products)
    ints = await _ints(pool)
    return ok(
        [
            grocy_shapes.current_stock(live[pid], summary, ints)
            for pid, summary in held.items()
            if pid in live and summary.amount > 0
        ]
    )


@_get("/stock/volatile")
async def stock_volatile(request: web.Request) -> web.StreamResponse:
    """Due soon, overdue, expired and missing, by the household's due-soon setting."""
    pool = request.app[POOL]
    raw = request.query.get("due_soon_days")
    if raw is not None and not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
        raise GrocyError("due_soon_days must be a whole number of days")
    if raw is None:
        settings = (await _views(pool, "setting")).get(SETTINGS_ID, {})
        days = int(settings.get("due_soon_days", DEFAULT_DUE_SOON_DAYS))
    else:
        days = int(raw)
    today = plausible_today(date.today())
    products = await _views(pool, "product")
    held = await _stock(pool, products)
    return ok(
        grocy_shapes.volatile(
            _live(products),
            held,
            await _ints(pool),
            today=today,
            due_limit=due_soon_limit(today, days),
        )
    )


@_get("/stock/products/{productId}")
async def product_details(request: web.Request) -> web.StreamResponse:
    """A product with the household's stock of it."""
    product_id, products = await _product(request.app[POOL], int_param(request, "productId"))
    return await _details(request, product_id, products)


@_get("/stock/products/by-barcode/{barcode}")
async def product_by_barcode(request: web.Request) -> web.StreamResponse:
    """By any barcode (GTINs in any length) or Grocy code."""
    pool = request.app[POOL]
    text = request.match_info["barcode"]
    code = grocy_ids.parse_grocycode(text)
    if code is not None:
        if code.type != "p":
            raise GrocyError(f"Grocy code {text[:80]} does not name a product")
        product_id, products = await _product(pool, code.object_id)
        return await _details(request, product_id, products)
    key = text.strip()
    if key.isascii() and key.isdigit() and len(key) in (8, 12, 13, 14):
        with contextlib.suppress(ScanError):
            key = normalize_gtin(key)
    products = await _views(pool, "product")
    for product_id, view in sorted(_live(products).items()):
        if key in (view.get("barcodes") or []):
            return await _details(request, product_id, products)
    raise GrocyError(f"No product with barcode {text[:80]} found")


@_get("/stock/products/{productId}/entries")
async def product_entries(request: web.Request) -> web.StreamResponse:
    """The product's lots in stock on every node."""
    pool = request.app[POOL]
    product_id, products = await _product(pool, int_param(request, "productId"))
    lots = [
        lot
        for lot in (await _views(pool, "lot")).values()
        if _owner(products, str(lot.get("product_id") or "")) == product_id
    ]
    lots.sort(key=lambda lot: (lot.get("best_before") is None, lot.get("best_before") or ""))
    ints = await _ints(pool)
    return ok([grocy_shapes.stock_entry(lot, ints) for lot in lots])


@_get("/stock/entry/{entryId}")
async def stock_entry(request: web.Request) -> web.StreamResponse:
    """A lot by its Grocy id."""
    pool = request.app[POOL]
    value = int_param(request, "entryId")
    lot_id = await _key_of(pool, "lot", value)
    lot = (await _views(pool, "lot")).get(lot_id or "")
    if lot is None:
        raise GrocyError(f"Stock entry does not exist (id {value})")
    return ok(grocy_shapes.stock_entry(lot, await _ints(pool)))


async def _rows(pool: asyncpg.Pool, entity: str) -> list[dict[str, Any]]:
    if entity in grocy_shapes.EMPTY_ENTITIES:
        return []
    if entity not in grocy_shapes.ENTITIES:
        raise GrocyError(f"Entity {entity[:80]} does not exist or is not exposed")
    if entity == "shopping_lists":
        return [grocy_shapes.shopping_list()]
    ints = await _ints(pool)
    if entity == "stock":
        return [grocy_shapes.stock_entry(v, ints) for v in (await _views(pool, "lot")).values()]
    if entity == "locations":
        return [grocy_shapes.location(v, ints) for v in (await _views(pool, "location")).values()]
    products = await _views(pool, "product")
    live = _live(products)
    if entity == "quantity_units":
        units = {str(v.get("unit") or "piece") for v in live.values()} | {"piece"}
        by_key: dict[str, str] = {}
        for unit in sorted(units):
            by_key.setdefault(grocy_ids.unit_key(unit), unit)
        return [grocy_shapes.quantity_unit(unit, ints) for unit in sorted(by_key.values())]
    if entity == "shopping_list":
        entries = (await _views(pool, "shopping")).values()
        return [
            grocy_shapes.shopping_item(
                e, ints, (live.get(e.get("product_id") or "") or {}).get("unit")
            )
            for e in entries
        ]
    if entity == "product_barcodes":
        return [row for view in live.values() for row in grocy_shapes.barcodes(view, ints)]
    held = await _stock(pool, products)
    return [
        grocy_shapes.product(v, ints, use_by=held[pid].use_by if pid in held else False)
        for pid, v in sorted(live.items(), key=lambda item: (str(item[1].get("name")), item[0]))
    ]


@_get("/objects/{entity}")
async def objects(request: web.Request) -> web.StreamResponse:
    """Rows of an entity with Grocy's ``query[]``, ``order``, ``limit``, ``offset``."""
    rows = await _rows(request.app[POOL], request.match_info["entity"])
    try:
        selected = grocy_query.select(
            rows,
            conditions=request.query.getall("query[]", []),
            order=request.query.get("order"),
            limit=request.query.get("limit"),
            offset=request.query.get("offset"),
        )
    except grocy_query.QueryError as exc:
        raise GrocyError(str(exc)) from None
    return ok(selected)


@_get("/objects/{entity}/{objectId}")
async def object_by_id(request: web.Request) -> web.StreamResponse:
    """One row by ``id``."""
    rows = await _rows(request.app[POOL], request.match_info["entity"])
    value = int_param(request, "objectId")
    for row in rows:
        if row.get("id") == value:
            return ok(row)
    raise GrocyError(f"Object not found (id {value})", 404)


async def _read_only(request: web.Request) -> web.StreamResponse:
    raise GrocyError(READ_ONLY)


_ACTIONS = ("add", "consume", "open", "inventory")
_SHOPPING = (
    "add-product",
    "remove-product",
    "clear",
    "add-missing-products",
    "add-overdue-products",
    "add-expired-products",
)
_WRITES = [
    *(f"/stock/products/{{productId}}/{a}" for a in _ACTIONS),
    *(f"/stock/products/by-barcode/{{barcode}}/{a}" for a in _ACTIONS),
    "/stock/transactions/{transactionId}/undo",
    *(f"/stock/shoppinglist/{a}" for a in _SHOPPING),
    "/objects/{entity}",
]


def setup_grocy(app: web.Application, pool: asyncpg.Pool) -> None:
    """Mount the Grocy API on central's app (its middleware is ``grocy_error_middleware``)."""
    from central import grocy_writes  # it imports this module's helpers

    app[POOL] = pool
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    written = set()
    for method, path, handler in grocy_writes.routes():
        app.router.add_route(method, PREFIX + path, handler)
        written.add(path)
    for path in _WRITES:
        if path not in written:
            app.router.add_post(PREFIX + path, _read_only)
