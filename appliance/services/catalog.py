"""Products and locations: create, edit, delete, look up by barcode."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from appliance.core import events as ev
from appliance.core.entities import LocationState, ProductState
from appliance.core.ids import new_id, product_id_for_code, seed_location_id
from appliance.services.errors import Conflict, Invalid, NotFound
from appliance.store.transaction import WriteTx

SEED_LOCATIONS = (("fridge", "Fridge"), ("freezer", "Freezer"), ("pantry", "Pantry"))
DEFAULT_LOCATION_KEY = "pantry"


def normalize_barcodes(codes: list[str]) -> list[str]:
    """Canonical keys for barcodes typed in by hand (GTINs normalised, others kept)."""
    from appliance.core.barcode import ScanError, normalize_gtin

    result: list[str] = []
    for code in codes:
        text = code.strip()
        if not text or len(text) > 512 or not text.isprintable():
            raise Invalid(f"barcode {code!r} is empty, too long or has control characters")
        if text.isdigit() and len(text) in (8, 12, 13, 14):
            try:
                text = normalize_gtin(text)
            except ScanError as exc:
                raise Invalid(f"barcode {code}: {exc}") from None
        if text not in result:
            result.append(text)
    return result


async def live_product(tx: WriteTx, product_id: str) -> ProductState:
    """The product, or NotFound."""
    entity = await tx.get("product", product_id)
    if not isinstance(entity, ProductState) or entity.deleted or not entity.fields.values:
        raise NotFound(f"product {product_id} does not exist")
    return entity


async def product_id_by_code(tx: WriteTx, code: str) -> str | None:
    """The live product with this barcode key (as committed before this transaction)."""
    return await tx.product_by_code(code)


# A kitchen scans the same few hundred codes again and again: a UUIDv5 (SHA-1) each time
# is work the scan path can skip.
_placeholder_id = lru_cache(maxsize=1024)(product_id_for_code)


async def product_for_scan(tx: WriteTx, code: str) -> str | None:
    """Like ``product_id_by_code``, and in the same round trip everything a scan reads next:
    the state of the product an unknown code would create, and the places new stock goes."""
    return await tx.product_by_code(
        code,
        fallback_id=_placeholder_id(code),
        locations=[seed_location_id(DEFAULT_LOCATION_KEY)],
    )


async def _check_barcodes_free(tx: WriteTx, codes: list[str], product_id: str) -> None:
    for code in codes:
        owner = await product_id_by_code(tx, code)
        if owner is not None and owner != product_id:
            raise Conflict(f"barcode {code} already belongs to product {owner}")


async def create_product(tx: WriteTx, fields: dict[str, Any], product_id: str | None = None) -> str:
    """Create a product; barcodes must not belong to another product."""
    fields = dict(fields)
    fields.setdefault("unit", "piece")
    if "barcodes" in fields:
        fields["barcodes"] = normalize_barcodes(fields["barcodes"])
        await _check_barcodes_free(tx, fields["barcodes"], product_id or "")
    if fields.get("default_location_id"):
        await live_location(tx, fields["default_location_id"])
    product_id = product_id or new_id()
    existing = await tx.get("product", product_id)
    if isinstance(existing, ProductState) and not existing.deleted and existing.fields.values:
        raise Conflict(f"product {product_id} exists already")
    await tx.emit(ev.PRODUCT_CREATED, product_id, {"fields": fields})
    return product_id


async def placeholder_product(tx: WriteTx, code: str) -> str:
    """Create the product for an unknown barcode: same id on every node, enrichment wanted."""
    product_id = _placeholder_id(code)
    fields = {
        "name": f"Unknown product {code}",
        "barcodes": [code],
        "unit": "piece",
        "needs_enrichment": True,
    }
    await tx.emit(ev.PRODUCT_CREATED, product_id, {"fields": fields})
    return product_id


async def update_product(tx: WriteTx, product_id: str, fields: dict[str, Any]) -> None:
    """Change some fields of a product."""
    await live_product(tx, product_id)
    fields = dict(fields)
    if "barcodes" in fields:
        fields["barcodes"] = normalize_barcodes(fields["barcodes"])
        await _check_barcodes_free(tx, fields["barcodes"], product_id)
    if fields.get("default_location_id"):
        await live_location(tx, fields["default_location_id"])
    if "name" in fields and "needs_enrichment" not in fields:
        fields["needs_enrichment"] = False  # a person named it
    if fields:
        await tx.emit(ev.PRODUCT_UPDATED, product_id, {"fields": fields})


async def delete_product(tx: WriteTx, product_id: str) -> None:
    """Delete a product and take its lots out of stock."""
    await live_product(tx, product_id)
    rows = await tx.fetch("SELECT id FROM lots WHERE product_id = ? AND active = 1", (product_id,))
    for (lot_id,) in rows:
        await tx.emit(ev.STOCK_REMOVED, lot_id, {"product_id": product_id, "lot_id": lot_id})
    await tx.emit(ev.PRODUCT_DELETED, product_id, {})


async def live_location(tx: WriteTx, location_id: str) -> LocationState:
    """The location, or an error naming it."""
    entity = await tx.get("location", location_id)
    if not isinstance(entity, LocationState) or entity.deleted or not entity.fields.values:
        raise NotFound(f"location {location_id} does not exist")
    return entity


async def seed_locations(tx: WriteTx) -> None:
    """Create fridge, freezer and pantry on a new node (deterministic ids)."""
    rows = await tx.fetch("SELECT count(*) FROM locations")
    if rows[0][0]:
        return
    for key, name in SEED_LOCATIONS:
        await tx.emit(ev.LOCATION_CREATED, seed_location_id(key), {"fields": {"name": name}})


async def create_location(tx: WriteTx, name: str) -> str:
    """Create a location with a unique name."""
    await _check_location_name(tx, name, None)
    location_id = new_id()
    await tx.emit(ev.LOCATION_CREATED, location_id, {"fields": {"name": name}}, fresh=True)
    return location_id


async def _check_location_name(tx: WriteTx, name: str, location_id: str | None) -> None:
    rows = await tx.fetch(
        "SELECT id FROM locations WHERE deleted = 0 AND name = ? COLLATE NOCASE AND id != ?",
        (name, location_id or ""),
    )
    if rows:
        raise Conflict(f"a location named {name!r} exists already")


async def rename_location(tx: WriteTx, location_id: str, name: str) -> None:
    """Rename a location."""
    await live_location(tx, location_id)
    await _check_location_name(tx, name, location_id)
    await tx.emit(ev.LOCATION_UPDATED, location_id, {"fields": {"name": name}})


async def delete_location(tx: WriteTx, location_id: str) -> None:
    """Delete an empty location."""
    await live_location(tx, location_id)
    rows = await tx.fetch(
        "SELECT count(*) FROM lots WHERE location_id = ? AND active = 1", (location_id,)
    )
    if rows[0][0]:
        raise Conflict(f"location {location_id} still holds {rows[0][0]} lot(s); move them first")
    await tx.emit(ev.LOCATION_DELETED, location_id, {})


async def default_location_id(tx: WriteTx, product: ProductState | None) -> str | None:
    """Where new stock goes: the product's default, else the pantry, else any location."""
    candidates = []
    if product is not None and product.fields.get("default_location_id"):
        candidates.append(product.fields.get("default_location_id"))
    candidates.append(seed_location_id(DEFAULT_LOCATION_KEY))
    for candidate in candidates:
        entity = await tx.get("location", candidate)
        if isinstance(entity, LocationState) and not entity.deleted and entity.fields.values:
            return str(candidate)
    rows = await tx.fetch("SELECT id FROM locations WHERE deleted = 0 ORDER BY name LIMIT 1")
    return rows[0][0] if rows else None
