"""Grocy's integer ids for our UUIDs, and Grocy codes (``grcy:p:{product}:{stock}``).

Grocy numbers its rows 1, 2, 3, ...; our entities have UUIDs made on any node, offline. The
integer a Grocy client sees is therefore derived from the UUID alone, so every node and central
agree on it without talking to each other:

- ``candidates(kind, key)`` is an endless sequence of integers in ``1 .. 2**31 - 1`` (the first
  64 bits of SHA-256 over ``grocy:{kind}:{key}:{probe}``, reduced into that range). The range
  fits a signed 32-bit int: the Grocy Android app keeps ids in Java ``int`` fields.
- Almost always an entity's id is its first candidate (``product_int`` and friends return that).
- When two keys of one kind share a candidate (about 0.6 % odds for a household with 5,000
  products, far less for locations), the keys are taken in sorted order and each takes its
  first candidate not taken by a key before it (``assign``). That is a function of the *set*
  of keys, never of the order they arrived in, so two products are never merged into one id.
  A key that sorts before an existing colliding key moves the later one to its next
  candidate; the store logs that (``add_key`` tells which keys changed).

The store keeps the result as an index (node SQLite migration 11, central ``009_grocy.sql``)
for the reverse lookup int -> UUID. This module does no I/O.

Grocy's ``stock_id`` of a stock entry is a string (Grocy makes 13 hex digits with PHP's
``uniqid()``); ours is the lot's UUID without hyphens (32 hex digits), which passes the
``\\w+`` patterns third-party Grocy-code parsers use, and reads back into the UUID exactly.
Grocy's ``transaction_id`` is a string too: it is our event id unchanged.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast

from appliance.core.entities import Entity, ProductState

#: The largest id: Grocy Android and other clients keep ids in signed 32-bit ints.
MAX_INT: Final = 2**31 - 1
#: Our one shopping list (Grocy has numbered lists; list 1 always exists there too).
SHOPPING_LIST_INT: Final = 1

Kind = Literal["product", "location", "lot", "shopping", "barcode", "quantity_unit", "stock_log"]
KINDS: Final[tuple[Kind, ...]] = (
    "product",
    "location",
    "lot",
    "shopping",
    "barcode",
    "quantity_unit",
    "stock_log",  # rows of a journal entry's stock log (never looked up by number)
)

#: Grocy code entity types (``grcy:{type}:{id}``): products, batteries, chores, recipes.
GROCYCODE_TYPES: Final = frozenset({"p", "b", "c", "r"})


def candidates(kind: Kind, key: str) -> Iterator[int]:
    """Yield the integer ids ``key`` may take, best first (endless, deterministic).

    ``key`` is the canonical form the ``*_key`` helpers below return.
    """
    probe = 0
    while True:
        digest = hashlib.sha256(f"grocy:{kind}:{key}:{probe}".encode()).digest()
        yield int.from_bytes(digest[:8], "big") % MAX_INT + 1
        probe += 1


def first_int(kind: Kind, key: str) -> int:
    """The id ``key`` takes unless it collides (see the module docstring)."""
    return next(candidates(kind, key))


def assign(kind: Kind, keys: Iterable[str]) -> dict[str, int]:
    """Give every key of one kind its id: in sorted key order, the first free candidate.

    A function of the set of keys alone (order and duplicates do not matter).
    """
    taken: set[int] = set()
    result: dict[str, int] = {}
    for key in sorted(set(keys)):
        for value in candidates(kind, key):
            if value not in taken:
                taken.add(value)
                result[key] = value
                break
    return result


def add_key(kind: Kind, existing: Mapping[str, int], key: str) -> dict[str, int]:
    """Return the ids that change when ``key`` joins ``existing`` (an ``assign`` result).

    The result holds ``key`` itself and, after a collision, every older key whose id moved.
    Without a collision (the usual case) this costs one hash, not a recomputation: when the
    first candidate is free, no key ever skipped it, so nothing else can move.
    """
    if key in existing:
        return {}
    first = first_int(kind, key)
    if first not in existing.values():
        return {key: first}
    new = assign(kind, [*existing, key])
    return {k: v for k, v in new.items() if existing.get(k) != v}


def uuid_key(entity_id: str) -> str:
    """The key of an entity known by UUID: its canonical lowercase form.

    Raises ``ValueError`` for text that is not a UUID.
    """
    return str(uuid.UUID(entity_id))


def product_int(product_id: str) -> int:
    """Grocy's ``product_id`` of a product (first candidate; the store's index is exact)."""
    return first_int("product", uuid_key(product_id))


def location_int(location_id: str) -> int:
    """Grocy's ``location_id`` of a location (first candidate)."""
    return first_int("location", uuid_key(location_id))


def lot_int(lot_id: str) -> int:
    """Grocy's stock entry ``id`` of a lot (first candidate); see ``stock_id`` for its string."""
    return first_int("lot", uuid_key(lot_id))


def shopping_int(entry_id: str) -> int:
    """Grocy's ``shopping_list`` row ``id`` of a shopping-list entry (first candidate)."""
    return first_int("shopping", uuid_key(entry_id))


def barcode_key(product_id: str, code: str) -> str:
    """The key of a product's barcode (Grocy's ``product_barcodes`` row)."""
    return f"{uuid_key(product_id)}|{code}"


def barcode_int(product_id: str, code: str) -> int:
    """Grocy's ``product_barcodes`` row ``id`` of one of a product's codes (first candidate)."""
    return first_int("barcode", barcode_key(product_id, code))


def unit_key(unit: str) -> str:
    """The key of a quantity unit: our products name theirs (``piece``, ``g``, ``Dose``)."""
    return unit.strip().casefold()


def quantity_unit_int(unit: str) -> int:
    """Grocy's ``qu_id`` of one of our unit names (first candidate)."""
    return first_int("quantity_unit", unit_key(unit))


def valid_int(value: int) -> bool:
    """Whether ``value`` can be an id made here (callers answer 'not found' otherwise)."""
    return 1 <= value <= MAX_INT


def stock_id(lot_id: str) -> str:
    """Grocy's ``stock_id`` of a lot: the lot's UUID as 32 lowercase hex digits."""
    return uuid.UUID(lot_id).hex


def lot_id_from_stock_id(text: str) -> str | None:
    """The lot UUID a ``stock_id`` names (with or without hyphens, any case), else None."""
    if not re.fullmatch(r"[0-9A-Fa-f]{32}|[0-9A-Fa-f-]{36}", text):
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class GrocyCode:
    """A parsed Grocy code: entity type, object id and the extra fields after it."""

    type: str
    object_id: int
    extra: tuple[str, ...] = ()

    @property
    def lot_id(self) -> str | None:
        """For a product code with a stock id of ours, the lot's UUID; else None."""
        if self.type != "p" or not self.extra:
            return None
        return lot_id_from_stock_id(self.extra[0])

    def __str__(self) -> str:
        return ":".join(("grcy", self.type, str(self.object_id), *self.extra))


def grocycode(product: int, stock: str | None = None) -> str:
    """``grcy:p:{product}`` or, for one lot, ``grcy:p:{product}:{stock}``."""
    return f"grcy:p:{product}" if stock is None else f"grcy:p:{product}:{stock}"


# An optional AIM symbology identifier (``]d1`` DataMatrix, ``]Q1`` QR, ``]C0`` Code 128)
# first, then grcy:TYPE:ID and any colon-separated extras of printable ASCII.
_GROCYCODE = re.compile(r"(?:\][A-Za-z][0-9A-Za-z])?grcy:([a-z]+):([0-9]{1,10})((?::[!-9;-~]+)*)")


def parse_grocycode(text: str) -> GrocyCode | None:
    """Read a Grocy code, in any letter case (scanners in caps-lock send ``GRCY:P:12``).

    Returns None for anything else, for an unknown entity type, and for an id outside
    ``1 .. MAX_INT``. Extras are lowercased with the rest (our stock ids are hex).
    """
    match = _GROCYCODE.fullmatch(text.strip().lower())
    if match is None or match[1] not in GROCYCODE_TYPES:
        return None
    object_id = int(match[2])
    if not valid_int(object_id):
        return None
    extra = tuple(part for part in match[3].split(":") if part)
    return GrocyCode(match[1], object_id, extra)


def index_rows(entities: Iterable[Entity]) -> list[tuple[Kind, str, int]]:
    """The index rows (kind, key, first candidate) that written entities need: their own,
    and for a product its barcodes and its unit. Node and central keep the same index."""
    rows: list[tuple[Kind, str, int]] = []
    for entity in entities:
        if entity.kind not in _INDEXED:
            continue
        kind = cast(Kind, entity.kind)
        rows.append((kind, entity.id, first_int(kind, entity.id)))
        if isinstance(entity, ProductState):
            for code in entity.barcodes():
                key = f"{entity.id}|{code}"
                rows.append(("barcode", key, first_int("barcode", key)))
            unit = unit_key(str(entity.fields.get("unit", "piece")))
            rows.append(("quantity_unit", unit, first_int("quantity_unit", unit)))
    return rows


_INDEXED: Final = frozenset({"product", "location", "lot", "shopping"})
