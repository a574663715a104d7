"""Products and locations: create, edit, delete, look up by barcode."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import from_milli, to_milli
from appliance.core.entities import LocationState, LotState, ProductState
from appliance.core.ids import new_id, product_id_for_code, seed_location_id
from appliance.services import shopping
from appliance.services.errors import Conflict, Invalid, NotFound
from appliance.store.transaction import WriteTx

#: The locations a new node starts with, named in the node's language (``[node] language``).
SEED_LOCATIONS = {
    "en": (("fridge", "Fridge"), ("freezer", "Freezer"), ("pantry", "Pantry")),
    "de": (("fridge", "Kühlschrank"), ("freezer", "Gefrierschrank"), ("pantry", "Vorratsschrank")),
}
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
    """The product, or NotFound (also when it was merged into another)."""
    entity = await tx.get("product", product_id)
    if not isinstance(entity, ProductState) or entity.deleted or not entity.fields.values:
        raise NotFound(f"product {product_id} does not exist")
    if entity.fields.get("merged_into"):
        survivor = await merged_into(tx, product_id)
        if survivor is not None:
            raise NotFound(f"product {product_id} was merged into {survivor}", merged_into=survivor)
    return entity


async def merged_into(tx: WriteTx, product_id: str) -> str | None:
    """The product a merged product now reads as (None when it is not merged)."""
    rows = await tx.fetch("SELECT target FROM merges WHERE source = ?", (product_id,))
    return str(rows[0][0]) if rows else None


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
    """Change some fields of a product; a new list of barcodes becomes adds and removes."""
    product = await live_product(tx, product_id)
    fields = dict(fields)
    if "barcodes" in fields:
        wanted = normalize_barcodes(fields.pop("barcodes"))
        current = product.barcodes()
        await change_barcodes(
            tx,
            product_id,
            add=[c for c in wanted if c not in current],
            remove=[c for c in current if c not in wanted],
        )
    if fields.get("default_location_id"):
        await live_location(tx, fields["default_location_id"])
    if "name" in fields and "needs_enrichment" not in fields:
        fields["needs_enrichment"] = False  # a person named it
    if fields:
        await tx.emit(ev.PRODUCT_UPDATED, product_id, {"fields": fields})


async def change_barcodes(
    tx: WriteTx, product_id: str, *, add: list[str], remove: list[str]
) -> None:
    """Add and remove barcodes of a product; a code belongs to one product only."""
    product = await live_product(tx, product_id)
    add, remove = normalize_barcodes(add), normalize_barcodes(remove)
    await _check_barcodes_free(tx, add, product_id)
    current = product.barcodes()
    missing = [code for code in remove if code not in current]
    if missing:
        raise NotFound(f"product {product_id} has no barcode {', '.join(missing)}")
    if len(set(current) | set(add)) - len(set(remove)) > 50:
        raise Invalid("a product has at most 50 barcodes")
    data: dict[str, Any] = {}
    if add := [code for code in add if code not in current]:
        data["add"] = add
    if remove:
        data["remove"] = remove
    if data:
        await tx.emit(ev.PRODUCT_BARCODES, product_id, data)


async def merge_products(tx: WriteTx, source_id: str, target_id: str) -> None:
    """Merge ``source`` into ``target``: its stock, barcodes, shopping entries and history
    read as the target's from now on, on every node (see docs/architecture.md)."""
    if source_id == target_id:
        raise Invalid("a product cannot be merged into itself")
    source = await live_product(tx, source_id)
    target = await live_product(tx, target_id)
    # The codes move in the target's own state too, so they stay if the merge is undone by a
    # cycle's resolution, and other nodes' scans of them find the target at once.
    moved = [code for code in source.barcodes() if code not in target.barcodes()]
    if moved:
        await tx.emit(ev.PRODUCT_BARCODES, target_id, {"add": moved[:50]})
    await tx.emit(ev.PRODUCT_MERGED, source_id, {"into": target_id})
    # Min stock and shopping entries: the target's own entry takes the source's amount.
    own = await shopping.open_entry_for(tx, target_id)
    theirs = await shopping.open_entry_for(tx, source_id)
    if own is not None and theirs is not None:
        total = to_milli(own.view()["amount"]) + to_milli(theirs.view()["amount"])
        await tx.emit(ev.SHOPPING_UPDATED, own.id, {"fields": {"amount": from_milli(total)}})
        await tx.emit(ev.SHOPPING_REMOVED, theirs.id, {"tags": theirs.live_tags})


async def delete_product(tx: WriteTx, product_id: str, *, remove_stock: bool = False) -> int:
    """Delete a product. While it has stock this is refused, unless ``remove_stock``: then
    its lots are taken out of stock with it. Returns how many lots were removed."""
    await live_product(tx, product_id)
    rows = await tx.fetch(
        "SELECT id, amount FROM lots WHERE product_id = ? AND active = 1", (product_id,)
    )
    if rows and not remove_stock:
        total = from_milli(sum(int(row[1]) for row in rows))
        raise Conflict(
            f"product {product_id} still has {len(rows)} lot(s) in stock ({total:g} in all);"
            " delete with ?stock=remove to take them out of stock too",
            lots=len(rows),
            total=total,
        )
    for lot_id, _ in rows:
        lot = await tx.get("lot", lot_id)
        owner = lot.product_id if isinstance(lot, LotState) and lot.product_id else product_id
        await tx.emit(ev.STOCK_REMOVED, lot_id, {"product_id": owner, "lot_id": lot_id})
    entries = await tx.fetch(
        "SELECT id FROM shopping WHERE product_id = ? AND present = 1", (product_id,)
    )
    for (entry_id,) in entries:
        await shopping.remove(tx, entry_id)
    await tx.emit(ev.PRODUCT_DELETED, product_id, {})
    return len(rows)


async def live_location(tx: WriteTx, location_id: str) -> LocationState:
    """The location, or an error naming it."""
    entity = await tx.get("location", location_id)
    if not isinstance(entity, LocationState) or entity.deleted or not entity.fields.values:
        raise NotFound(f"location {location_id} does not exist")
    return entity


async def seed_locations(tx: WriteTx, language: str = "en") -> None:
    """Create fridge, freezer and pantry on a new node (deterministic ids, so nodes seed the
    same three), named in ``language``; renamed later like any other location."""
    rows = await tx.fetch("SELECT count(*) FROM locations")
    if rows[0][0]:
        return
    for n, (key, name) in enumerate(SEED_LOCATIONS.get(language, SEED_LOCATIONS["en"])):
        fields = {"name": name, "sort_key": 10 * (n + 1), "freezer": key == "freezer"}
        await tx.emit(ev.LOCATION_CREATED, seed_location_id(key), {"fields": fields})


async def create_location(
    tx: WriteTx, name: str, *, sort_key: int | None = None, freezer: bool = False
) -> str:
    """Create a location with a unique name (placed last unless a sort key is given)."""
    await _check_location_name(tx, name, None)
    if sort_key is None:
        rows = await tx.fetch(
            "SELECT max(json_extract(view, '$.sort_key')) FROM locations WHERE deleted = 0"
        )
        sort_key = (rows[0][0] or 0) + 10
    location_id = new_id()
    fields = {"name": name, "sort_key": sort_key, "freezer": freezer}
    await tx.emit(ev.LOCATION_CREATED, location_id, {"fields": fields}, fresh=True)
    return location_id


async def _check_location_name(tx: WriteTx, name: str, location_id: str | None) -> None:
    rows = await tx.fetch(
        "SELECT id FROM locations WHERE deleted = 0 AND name = ? COLLATE NOCASE AND id != ?",
        (name, location_id or ""),
    )
    if rows:
        raise Conflict(f"a location named {name!r} exists already")


async def update_location(tx: WriteTx, location_id: str, fields: dict[str, Any]) -> None:
    """Rename, reorder (sort key) or mark a location as a freezer."""
    await live_location(tx, location_id)
    if "name" in fields:
        await _check_location_name(tx, fields["name"], location_id)
    if fields:
        await tx.emit(ev.LOCATION_UPDATED, location_id, {"fields": fields})


async def rename_location(tx: WriteTx, location_id: str, name: str) -> None:
    """Rename a location."""
    await update_location(tx, location_id, {"name": name})


async def is_freezer(tx: WriteTx, location_id: str) -> bool:
    """Whether a location is marked as a freezer."""
    entity = await tx.get("location", location_id)
    return isinstance(entity, LocationState) and bool(entity.fields.get("freezer", False))


async def delete_location(tx: WriteTx, location_id: str, move_to: str | None = None) -> int:
    """Delete a location; its stock moves to ``move_to`` (refused while it holds stock and
    none is given). Returns how many lots moved."""
    from appliance.services import inventory

    await live_location(tx, location_id)
    rows = await tx.fetch(
        "SELECT id FROM lots WHERE location_id = ? AND active = 1", (location_id,)
    )
    if rows and move_to is None:
        raise Conflict(
            f"location {location_id} still holds {len(rows)} lot(s); give move_to, the"
            " location their stock goes to",
            lots=len(rows),
        )
    if move_to is not None:
        if move_to == location_id:
            raise Invalid("move_to must be another location")
        await live_location(tx, move_to)
        for (lot_id,) in rows:
            await inventory.transfer(tx, lot_id, move_to)
    await tx.emit(ev.LOCATION_DELETED, location_id, {})
    return len(rows)


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
