"""Products and locations."""

from __future__ import annotations

from aiohttp import web

from appliance.api.bodies import (
    BarcodeIn,
    EnrichQuery,
    LocationDeleteQuery,
    LocationIn,
    LocationOrderIn,
    LocationPatch,
    MergeIn,
    ProductDeleteQuery,
    ProductIn,
    ProductPatch,
    ProductsQuery,
)
from appliance.api.ids import path_id
from appliance.api.keys import CONFIG, KITCHEN
from appliance.api.problem import problem
from appliance.api.receipt_routes import RECEIPTS
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import ok, send_parts
from appliance.core import events as ev
from appliance.services import catalog
from appliance.services.errors import Conflict, Invalid, NotFound
from appliance.store import queries

api = Api()


_id = path_id


@api.route("GET", "/api/products", "List products by name", tag="products", query=ProductsQuery)
async def list_products(request: web.Request) -> web.StreamResponse:
    """Products, searchable by name or barcode."""
    q = read_query(request, ProductsQuery)
    store = request.app[KITCHEN].store
    listing = await queries.products(
        store.reader, search=q.search, limit=q.limit, offset=q.offset, cache=store.read_cache
    )
    return await send_parts(request, listing.parts())


# Barcodes are checked beyond what a schema can say (check digits): 422 for valid JSON too.
@api.route(
    "POST",
    "/api/products",
    "Create a product",
    tag="products",
    body=ProductIn,
    status=201,
    content_refusals=(422,),
)
async def create_product(request: web.Request) -> web.StreamResponse:
    """Create a product."""
    body = await read_body(request, ProductIn)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        product_id = await catalog.create_product(tx, body.fields())
    return ok(await queries.product(kitchen.store.reader, product_id), 201)


@api.route("GET", "/api/products/by-barcode/{code}", "Find a product by barcode", tag="products")
async def product_by_barcode(request: web.Request) -> web.StreamResponse:
    """Look a product up by any of its barcodes (GTINs in any length)."""
    code = request.match_info["code"]
    try:
        key = catalog.normalize_barcodes([code])[0]
    except Exception:
        key = code
    reader = request.app[KITCHEN].store.reader
    product_id = await queries.product_id_by_code(reader, key)
    if product_id is None:
        raise NotFound(f"no product has barcode {code}")
    return ok(await queries.product(reader, product_id))


@api.route(
    "POST",
    "/api/products/enrich",
    "Ask central to look a barcode up",
    tag="products",
    query=EnrichQuery,
    status=202,
    content_refusals=(422,),
)
async def enrich_product(request: web.Request) -> web.StreamResponse:
    """Queue an Open Food Facts lookup: it travels to central with the outbox (durable offline)."""
    q = read_query(request, EnrichQuery)
    if not request.app[CONFIG].sync.enabled:
        raise Conflict("this node does not sync with a central, which does the lookups")
    key = catalog.normalize_barcodes([q.barcode])[0]
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        product_id = await catalog.product_id_by_code(tx, key)
        if product_id is None:
            product_id = await catalog.placeholder_product(tx, key)
        else:
            product = await catalog.live_product(tx, product_id)
            barcodes = list(product.fields.get("barcodes", []))
            await tx.emit(
                ev.PRODUCT_UPDATED,
                product_id,
                {"fields": {"needs_enrichment": True, "barcodes": barcodes or [key]}},
            )
    return ok({"product_id": product_id, "barcode": key, "status": "queued"}, 202)


@api.route(
    "GET",
    "/api/products/lookup",
    "What Open Food Facts says of a barcode (asked of central, for a product being created)",
    tag="products",
    query=EnrichQuery,
    content_refusals=(422,),
    responses={503: "Central (or Open Food Facts) cannot answer within a few seconds"},
)
async def lookup_product(request: web.Request) -> web.StreamResponse:
    """Ask central now (not through the outbox) so a create-product dialog can be pre-filled;
    nothing is stored. ``{"found": false}`` when OFF does not know the code."""
    q = read_query(request, EnrichQuery)
    key = catalog.normalize_barcodes([q.barcode])[0]
    if not key.isdigit() or len(key) not in (8, 12, 13, 14):
        raise Invalid(f"barcode {q.barcode!r} is not a GTIN, which Open Food Facts would know")
    book = request.app.get(RECEIPTS)
    remote = book.remote if book is not None else None
    if remote is None:
        raise Conflict("this node does not sync with a central, which does the lookups")
    try:
        answer = await remote.lookup(key)
    except (ConnectionError, TimeoutError) as exc:  # NotConnected is a ConnectionError
        return problem(
            503,
            "Central unavailable",
            f"central cannot answer right now ({exc or 'no answer in time'})",
            headers={"Retry-After": "10"},
        )
    if answer.status >= 400:
        detail = str(answer.body.get("detail") or "refused by central")
        headers = {"Retry-After": "30"} if answer.status == 503 else None
        title = str(answer.body.get("title") or "Refused")
        return problem(answer.status, title, detail, headers=headers)
    return ok(answer.body)


@api.route("GET", "/api/products/{id}", "Get a product", tag="products")
async def get_product(request: web.Request) -> web.StreamResponse:
    """One product with its stock total."""
    product = await queries.product(request.app[KITCHEN].store.reader, _id(request))
    if product is not None and product["merged_into"]:
        survivor = product["merged_into"]
        raise NotFound(f"product {product['id']} was merged into {survivor}", merged_into=survivor)
    if product is None or product["deleted"]:
        raise NotFound(f"product {request.match_info['id']} does not exist")
    return ok(product)


@api.route(
    "GET",
    "/api/products/{id}/picture",
    "The product's picture (a small JPEG from Open Food Facts, kept on the node)",
    tag="products",
    reply_content={"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
    responses={404: "no picture (yet): show a placeholder"},
)
async def product_picture(request: web.Request) -> web.StreamResponse:
    """Central's shrunk copy of the Open Food Facts picture; 404 when there is none."""
    product_id = _id(request)
    jpeg = await request.app[KITCHEN].store.picture(product_id)
    if jpeg is None:
        raise NotFound(f"product {product_id} has no picture")
    # Private: the API needs a token; short, because central may send a better one.
    headers = {"Cache-Control": "private, max-age=300"}
    return web.Response(body=jpeg, content_type="image/jpeg", headers=headers)


@api.route(
    "PATCH",
    "/api/products/{id}",
    "Change a product",
    tag="products",
    body=ProductPatch,
    content_refusals=(422,),
)
async def patch_product(request: web.Request) -> web.StreamResponse:
    """Change some fields of a product."""
    product_id = _id(request)
    body = await read_body(request, ProductPatch)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        await catalog.update_product(tx, product_id, body.fields())
    return ok(await queries.product(kitchen.store.reader, product_id))


@api.route(
    "DELETE",
    "/api/products/{id}",
    "Delete a product (refused while it has stock, unless ?stock=remove)",
    tag="products",
    query=ProductDeleteQuery,
    responses={409: "the product still has stock; the detail says how much"},
)
async def delete_product(request: web.Request) -> web.StreamResponse:
    """Delete a product; with ``?stock=remove`` its lots leave the stock with it."""
    product_id = _id(request)
    q = read_query(request, ProductDeleteQuery)
    async with request.app[KITCHEN].change() as tx:
        removed = await catalog.delete_product(tx, product_id, remove_stock=q.stock == "remove")
    return ok({"deleted": product_id, "lots_removed": removed})


@api.route(
    "POST",
    "/api/products/{id}/barcodes",
    "Add a barcode to a product",
    tag="products",
    body=BarcodeIn,
    status=201,
    responses={409: "the barcode belongs to another product"},
)
async def add_barcode(request: web.Request) -> web.StreamResponse:
    """Add a barcode (a barcode belongs to one product)."""
    product_id = _id(request)
    body = await read_body(request, BarcodeIn)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        await catalog.change_barcodes(tx, product_id, add=[body.barcode], remove=[])
    return ok(await queries.product(kitchen.store.reader, product_id), 201)


@api.route(
    "DELETE",
    "/api/products/{id}/barcodes/{code}",
    "Remove a barcode from a product",
    tag="products",
)
async def remove_barcode(request: web.Request) -> web.StreamResponse:
    """Remove one of a product's barcodes."""
    product_id = _id(request)
    code = request.match_info["code"]
    kitchen = request.app[KITCHEN]
    try:
        async with kitchen.change() as tx:
            await catalog.change_barcodes(tx, product_id, add=[], remove=[code])
    except Invalid:
        # Not a barcode at all (empty, control characters): no product carries it.
        raise NotFound(f"product {product_id} has no barcode {code!r}") from None
    return ok(await queries.product(kitchen.store.reader, product_id))


@api.route(
    "POST",
    "/api/products/{id}/merge",
    "Merge this product into another",
    tag="products",
    body=MergeIn,
)
async def merge_product(request: web.Request) -> web.StreamResponse:
    """Its stock, barcodes, shopping entries and history go to ``into``; answers with that."""
    product_id = _id(request)
    body = await read_body(request, MergeIn)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        await catalog.merge_products(tx, product_id, str(body.into))
    return ok(await queries.product(kitchen.store.reader, str(body.into)))


@api.route("GET", "/api/locations", "List locations in their order", tag="locations")
async def list_locations(request: web.Request) -> web.StreamResponse:
    """Every location, by sort key, then name."""
    return ok({"items": await queries.locations(request.app[KITCHEN].store.reader)})


@api.route(
    "POST", "/api/locations", "Create a location", tag="locations", body=LocationIn, status=201
)
async def create_location(request: web.Request) -> web.StreamResponse:
    """Create a location."""
    body = await read_body(request, LocationIn)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        location_id = await catalog.create_location(
            tx, body.name, sort_key=body.sort_key, freezer=body.freezer
        )
    return ok(await queries.location(kitchen.store.reader, location_id), 201)


@api.route(
    "PUT", "/api/locations/order", "Reorder locations", tag="locations", body=LocationOrderIn
)
async def order_locations(request: web.Request) -> web.StreamResponse:
    """Give the locations listed sort keys in that order (others keep theirs)."""
    body = await read_body(request, LocationOrderIn)
    ids = [str(i) for i in body.ids]
    if len(set(ids)) != len(ids):
        raise Invalid("ids: a location is listed twice")
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        for n, location_id in enumerate(ids):
            current = await catalog.live_location(tx, location_id)
            if current.view()["sort_key"] != 10 * (n + 1):
                await catalog.update_location(tx, location_id, {"sort_key": 10 * (n + 1)})
    return ok({"items": await queries.locations(kitchen.store.reader)})


@api.route(
    "PATCH",
    "/api/locations/{id}",
    "Rename, reorder or mark a location as a freezer",
    tag="locations",
    body=LocationPatch,
)
async def patch_location(request: web.Request) -> web.StreamResponse:
    """Change a location's name, sort key or freezer mark."""
    location_id = _id(request)
    body = await read_body(request, LocationPatch)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        await catalog.update_location(tx, location_id, body.model_dump(exclude_unset=True))
    return ok(await queries.location(kitchen.store.reader, location_id))


@api.route(
    "DELETE",
    "/api/locations/{id}",
    "Delete a location, moving its stock (?move_to=)",
    tag="locations",
    query=LocationDeleteQuery,
    responses={409: "the location holds stock and no move_to was given"},
)
async def delete_location(request: web.Request) -> web.StreamResponse:
    """Delete a location; its lots move to ``move_to`` (refused while it holds stock without)."""
    location_id = _id(request)
    q = read_query(request, LocationDeleteQuery)
    async with request.app[KITCHEN].change() as tx:
        moved = await catalog.delete_location(
            tx, location_id, str(q.move_to) if q.move_to else None
        )
    return ok({"deleted": location_id, "lots_moved": moved})
