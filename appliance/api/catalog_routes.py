"""Products and locations."""

from __future__ import annotations

from aiohttp import web

from appliance.api.bodies import EnrichQuery, LocationIn, ProductIn, ProductPatch, ProductsQuery
from appliance.api.ids import path_id
from appliance.api.keys import CONFIG, KITCHEN
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import no_content, ok, raw_list
from appliance.core import events as ev
from appliance.services import catalog
from appliance.services.errors import Conflict, NotFound
from appliance.store import queries

api = Api()


_id = path_id


@api.route("GET", "/api/products", "List products by name", tag="products", query=ProductsQuery)
async def list_products(request: web.Request) -> web.StreamResponse:
    """Products, searchable by name or barcode."""
    q = read_query(request, ProductsQuery)
    reader = request.app[KITCHEN].store.reader
    text, count = await queries.products(reader, search=q.search, limit=q.limit, offset=q.offset)
    return raw_list(text, count)


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


@api.route("GET", "/api/products/{id}", "Get a product", tag="products")
async def get_product(request: web.Request) -> web.StreamResponse:
    """One product with its stock total."""
    product = await queries.product(request.app[KITCHEN].store.reader, _id(request))
    if product is None or product["deleted"]:
        raise NotFound(f"product {request.match_info['id']} does not exist")
    return ok(product)


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
    "DELETE", "/api/products/{id}", "Delete a product and its stock", tag="products", status=204
)
async def delete_product(request: web.Request) -> web.StreamResponse:
    """Delete a product (its lots leave the stock)."""
    product_id = _id(request)
    async with request.app[KITCHEN].change() as tx:
        await catalog.delete_product(tx, product_id)
    return no_content()


@api.route("GET", "/api/locations", "List locations", tag="locations")
async def list_locations(request: web.Request) -> web.StreamResponse:
    """Every location."""
    return ok({"items": await queries.locations(request.app[KITCHEN].store.reader)})


@api.route(
    "POST", "/api/locations", "Create a location", tag="locations", body=LocationIn, status=201
)
async def create_location(request: web.Request) -> web.StreamResponse:
    """Create a location."""
    body = await read_body(request, LocationIn)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        location_id = await catalog.create_location(tx, body.name)
    return ok(await queries.location(kitchen.store.reader, location_id), 201)


@api.route("PATCH", "/api/locations/{id}", "Rename a location", tag="locations", body=LocationIn)
async def patch_location(request: web.Request) -> web.StreamResponse:
    """Rename a location."""
    location_id = _id(request)
    body = await read_body(request, LocationIn)
    kitchen = request.app[KITCHEN]
    async with kitchen.change() as tx:
        await catalog.rename_location(tx, location_id, body.name)
    return ok(await queries.location(kitchen.store.reader, location_id))


@api.route("DELETE", "/api/locations/{id}", "Delete an empty location", tag="locations", status=204)
async def delete_location(request: web.Request) -> web.StreamResponse:
    """Delete a location that holds no stock."""
    location_id = _id(request)
    async with request.app[KITCHEN].change() as tx:
        await catalog.delete_location(tx, location_id)
    return no_content()
