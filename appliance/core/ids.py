"""Identifiers: random UUIDv7 for events and entities, UUIDv5 where two nodes must agree.

UUIDv7 carries a timestamp, but nothing here orders by it: a Pi can boot in 1970.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid

import uuid_utils

# Namespace for ids that every node derives the same way (a product created from an unknown
# barcode on two offline nodes must become one product, not two).
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_NAMESPACE = uuid.UUID("6f1c3a52-2b7e-4d1a-9a43-0c5b8e7d2f10")
_NAMESPACE_BYTES = _NAMESPACE.bytes


def new_id() -> str:
    """Return a new random UUIDv7 as a string."""
    # uuid_utils' own UUID type formats in Rust: 0.3 µs, not the 2 µs of a stdlib UUID.
    return str(uuid_utils.uuid7())


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(_NAMESPACE, name))`` without building UUID objects (a third the cost:
    every new barcode's scan derives its product's id)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    x = digest.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def product_id_for_code(code: str) -> str:
    """Return the deterministic product id for a barcode key (canonical GTIN or code text)."""
    return _uuid5(f"product:{code}")


def auto_shopping_id(product_id: str) -> str:
    """Return the deterministic id of a product's automatic shopping-list entry."""
    return _uuid5(f"auto-shopping:{product_id}")


def is_uuid(text: str) -> bool:
    """Tell whether ``text`` is a UUID in canonical form (8-4-4-4-12 hex digits, any case)."""
    # A pattern, not uuid.UUID(): every event's ids are checked, at a seventh of the cost.
    return isinstance(text, str) and _CANONICAL.fullmatch(text) is not None


@functools.cache  # a handful of keys, asked for on every scan
def seed_location_id(key: str) -> str:
    """Return the id of a location every node seeds (so three nodes make one fridge)."""
    return _uuid5(f"location:{key}")
