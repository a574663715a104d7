"""Request bodies and query strings: strict types, unknown fields rejected."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

#: The largest integer SQLite stores; no integer parameter may go beyond it.
SQLITE_MAX_INT = 2**63 - 1
_WHOLE = re.compile(r"-?[0-9]{1,19}")


def _ascii_whole(value: object) -> object:
    """A query value as an int: ASCII digits with an optional minus, nothing else.

    ``int()`` and pydantic also read ``"١٢"``, ``" 12"``, ``"1_000"``, ``"+5"`` and
    ``"12.0"``; none of them is how anyone writes a number in a URL.
    """
    if isinstance(value, str):
        if not _WHOLE.fullmatch(value):
            raise ValueError("must be a whole number in digits 0-9 (at most 19 of them)")
        return int(value)
    return value


#: Metadata of every integer query parameter: ``Annotated[int, DIGITS, Field(ge=, le=)]``.
DIGITS = BeforeValidator(_ascii_whole)

Amount = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
Count = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=500)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Station = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Mode = Literal["add", "consume", "lookup", "open", "spoiled", "shopping"]
Priority = Literal["urgent", "normal", "low"]


class Body(BaseModel):
    """Base for JSON bodies: strict JSON types, unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Base for query strings (values arrive as text and are converted)."""

    model_config = ConfigDict(extra="forbid")


def _id(value: UUID | None) -> str | None:
    return None if value is None else str(value)


class ProductIn(Body):
    """A new product."""

    name: Name
    brand: Name | None = None
    barcodes: list[Annotated[str, StringConstraints(min_length=1, max_length=512)]] = Field(
        default_factory=list, max_length=50
    )
    category: Name | None = None
    unit: Unit = "piece"
    pack_size: Amount | None = None
    min_stock: Count | None = None
    default_location_id: Annotated[UUID, Field(strict=False)] | None = None
    default_best_before_days: Annotated[int, Field(ge=0, le=36_500)] | None = None
    image_url: Annotated[str, StringConstraints(max_length=2000)] | None = None

    def fields(self) -> dict[str, object]:
        """The event fields (unset optional values left out)."""
        data = self.model_dump(exclude_unset=True)
        if "default_location_id" in data:
            data["default_location_id"] = _id(self.default_location_id)
        data.setdefault("unit", self.unit)
        return data


class ProductPatch(Body):
    """Changes to a product; only the fields given change."""

    name: Name | None = None
    brand: Name | None = None
    barcodes: list[Annotated[str, StringConstraints(min_length=1, max_length=512)]] | None = Field(
        default=None, max_length=50
    )
    category: Name | None = None
    unit: Unit | None = None
    pack_size: Amount | None = None
    min_stock: Count | None = None
    default_location_id: Annotated[UUID, Field(strict=False)] | None = None
    default_best_before_days: Annotated[int, Field(ge=0, le=36_500)] | None = None
    image_url: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @field_validator("name", "unit", "barcodes")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value

    def fields(self) -> dict[str, object]:
        """The changed fields."""
        data = self.model_dump(exclude_unset=True)
        if "default_location_id" in data:
            data["default_location_id"] = _id(self.default_location_id)
        return data


class ProductsQuery(Query):
    """Product list filters."""

    search: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: Annotated[int, DIGITS, Field(ge=1, le=5000)] = 500
    offset: Annotated[int, DIGITS, Field(ge=0, le=10_000_000)] = 0


class EnrichQuery(Query):
    """Which barcode to look up."""

    barcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]


class LocationIn(Body):
    """A location's name."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class LotIn(Body):
    """Stock added by hand."""

    product_id: Annotated[UUID, Field(strict=False)]
    amount: Amount = 1
    location_id: Annotated[UUID, Field(strict=False)] | None = None
    best_before: Annotated[date, Field(strict=False)] | None = None
    batch: Annotated[str, StringConstraints(max_length=100)] | None = None
    note: Text | None = None
    price: Count | None = None


class LotPatch(Body):
    """Corrections to a lot: a recount, dates, batch, note, or a move."""

    amount: Count | None = None
    best_before: Annotated[date, Field(strict=False)] | None = None
    batch: Annotated[str, StringConstraints(max_length=100)] | None = None
    note: Text | None = None
    location_id: Annotated[UUID, Field(strict=False)] | None = None


class InventoryQuery(Query):
    """Lot list filters."""

    location_id: UUID | None = None
    product_id: UUID | None = None
    expiring_within_days: Annotated[int, DIGITS, Field(ge=0, le=3650)] | None = None
    limit: Annotated[int, DIGITS, Field(ge=1, le=20_000)] = 500
    offset: Annotated[int, DIGITS, Field(ge=0, le=10_000_000)] = 0


class SummaryQuery(Query):
    """Summary filters."""

    location_id: UUID | None = None


class ConsumeIn(Body):
    """Take stock from a lot."""

    amount: Amount = 1
    spoiled: bool = False


class OpenIn(Body):
    """Open a lot, or part of it."""

    amount: Amount | None = None


class TransferIn(Body):
    """Move a lot, or part of it."""

    location_id: Annotated[UUID, Field(strict=False)]
    amount: Amount | None = None


class JournalQuery(Query):
    """Journal filters."""

    product_id: UUID | None = None
    limit: Annotated[int, DIGITS, Field(ge=1, le=1000)] = 100
    before: Annotated[int, DIGITS, Field(ge=1, le=SQLITE_MAX_INT)] | None = None


class ShoppingIn(Body):
    """Something to buy: a product or free text."""

    product_id: Annotated[UUID, Field(strict=False)] | None = None
    text: Name | None = None
    amount: Amount = 1
    priority: Priority = "normal"
    note: Text | None = None


class ShoppingPatch(Body):
    """Changes to a shopping entry."""

    text: Name | None = None
    amount: Amount | None = None
    priority: Priority | None = None
    note: Text | None = None
    purchased: bool | None = None

    @field_validator("amount", "priority", "purchased")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class ShoppingQuery(Query):
    """Shopping list filters."""

    priority: Priority | None = None
    purchased: bool | None = None
    auto: bool | None = None


class ShoppingClearQuery(Query):
    """Which entries ``DELETE /api/shopping`` removes."""

    purchased: bool | None = None


class PurchaseIn(Body):
    """Check an entry off; products go into stock."""

    amount: Amount | None = None
    location_id: Annotated[UUID, Field(strict=False)] | None = None
    best_before: Annotated[date, Field(strict=False)] | None = None


class ScanIn(Body):
    """A raw scan, as a scanner or the camera read it."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    station_id: Station = "kitchen"
    mode: Mode | None = None


class ModeIn(Body):
    """Switch a station's mode, or the household default."""

    mode: Mode
    station_id: Station | None = None


class ModeQuery(Query):
    """Which station."""

    station_id: Station = "kitchen"


class UndoIn(Body):
    """Which station's last scan to undo."""

    station_id: Station = "kitchen"


class HardwareStateQuery(Query):
    """Long poll: answer once the display's version is past ``after`` (or at once)."""

    after: Annotated[int, DIGITS, Field(ge=0, le=SQLITE_MAX_INT)] | None = None


class HardwareScanIn(Body):
    """Text typed into the scan box's scanner (its own length limit applies too)."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"\S")]
