"""Request bodies and query strings: strict types, unknown fields rejected."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

Amount = Annotated[float, Field(gt=0, le=1e9, allow_inf_nan=False)]
Count = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=500)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
Station = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Mode = Literal["add", "consume", "lookup", "open", "spoiled", "shopping"]
Priority = Literal["urgent", "normal", "low"]
Days = Annotated[int, Field(ge=0, le=36_500)]


def _printable(value: str, *, lines: bool = False) -> str:
    """Refuse control characters (line breaks and tabs too, unless ``lines``)."""
    allowed = "\n\t" if lines else ""
    if any(not ch.isprintable() and ch not in allowed for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _printable_lines(value: str) -> str:
    return _printable(value, lines=True)


Notes = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_printable_lines)]
Barcode = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Uuid = Annotated[UUID, Field(strict=False)]


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
    default_best_before_days: Days | None = None
    default_best_before_days_after_opening: Days | None = None
    default_best_before_days_after_freezing: Days | None = None
    notes: Notes | None = None
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
    default_best_before_days: Days | None = None
    default_best_before_days_after_opening: Days | None = None
    default_best_before_days_after_freezing: Days | None = None
    notes: Notes | None = None
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
    limit: Annotated[int, Field(ge=1, le=5000)] = 500
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class EnrichQuery(Query):
    """Which barcode to look up."""

    barcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]


LocationName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
]
SortKey = Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)]


class LocationIn(Body):
    """A new location: its name, where it sorts (last when not given), whether it freezes."""

    name: LocationName
    sort_key: SortKey | None = None
    freezer: bool = False


class LocationPatch(Body):
    """Rename, reorder or mark as a freezer; only the fields given change."""

    name: LocationName | None = None
    sort_key: SortKey | None = None
    freezer: bool | None = None

    @field_validator("name", "sort_key", "freezer")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class LocationOrderIn(Body):
    """Every location to reorder, in the order wanted."""

    ids: list[Uuid] = Field(min_length=1, max_length=1000)


class LocationDeleteQuery(Query):
    """Where a deleted location's stock goes."""

    move_to: UUID | None = None


class BarcodeIn(Body):
    """A barcode to add to a product."""

    barcode: Barcode


class MergeIn(Body):
    """The product this one turned out to be."""

    into: Uuid


class ProductDeleteQuery(Query):
    """What happens to a deleted product's stock: refused while there is any, or removed."""

    stock: Literal["refuse", "remove"] = "refuse"


class ProductConsumeIn(Body):
    """Take stock of a product (its lots chosen as a scan would)."""

    amount: Amount | Literal["all"] = 1
    spoiled: bool = False
    allow_negative: bool = False


class ProductOpenIn(Body):
    """Open the product's next unopened lot (one piece of a pack)."""

    amount: Amount | None = None


class RecountIn(Body):
    """What is really there, in all locations or in one."""

    amount: Count
    location_id: Uuid | None = None


NodeName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_printable),
]


class SettingsPatch(Body):
    """Household settings (synced) and this node's own name (local)."""

    due_soon_days: Annotated[int, Field(ge=0, le=365)] | None = None
    node_name: NodeName | None = None

    @field_validator("due_soon_days", "node_name")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


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
    expiring_within_days: Annotated[int, Field(ge=0, le=3650)] | None = None
    due_soon: bool | None = None  # true: due within the household's horizon (or expired)
    limit: Annotated[int, Field(ge=1, le=20_000)] = 500
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class SummaryQuery(Query):
    """Summary filters."""

    location_id: UUID | None = None


class ConsumeIn(Body):
    """Take stock from a lot: an amount or ``"all"``; more than it holds only when
    ``allow_negative``."""

    amount: Amount | Literal["all"] = 1
    spoiled: bool = False
    allow_negative: bool = False


class OpenIn(Body):
    """Open a lot, or part of it."""

    amount: Amount | None = None


class TransferIn(Body):
    """Move a lot, or part of it."""

    location_id: Annotated[UUID, Field(strict=False)]
    amount: Amount | None = None


JournalKinds = Annotated[
    str,
    StringConstraints(
        pattern=r"^(purchase|consume|spoil|open|transfer|recount|remove)"
        r"(,(purchase|consume|spoil|open|transfer|recount|remove)){0,6}$"
    ),
]


class JournalQuery(Query):
    """Journal filters."""

    product_id: UUID | None = None
    station_id: Station | None = None
    kind: JournalKinds | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    before: Annotated[int, Field(ge=1, le=2**62)] | None = None

    def kinds(self) -> list[str] | None:
        """The kinds asked for (``kind=consume,spoil``)."""
        return None if self.kind is None else self.kind.split(",")


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
    group_by: Literal["category", "location"] | None = None


class ShoppingClearQuery(Query):
    """Which entries ``DELETE /api/shopping`` removes."""

    purchased: bool | None = None


class PurchaseIn(Body):
    """Check an entry off; products go into stock."""

    amount: Amount | None = None
    location_id: Annotated[UUID, Field(strict=False)] | None = None
    best_before: Annotated[date, Field(strict=False)] | None = None


class ScanIn(Body):
    """A raw scan, as a scanner or the camera read it.

    ``allow_negative``: a consume of something not in stock is recorded anyway.
    ``unknown``: ``create`` (the scan box's way: an unknown code in add mode becomes a
    placeholder product) or ``ask`` (the answer says what creating the product needs).
    """

    code: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    # Omitted: the paired device's own station (the "kitchen" station for CLI tokens).
    station_id: Station | None = None
    mode: Mode | None = None
    allow_negative: bool = False
    unknown: Literal["create", "ask"] = "create"


class ModeIn(Body):
    """Switch a station's mode, or the household default."""

    mode: Mode
    station_id: Station | None = None


class ModeQuery(Query):
    """Which station (omitted: the device's own)."""

    station_id: Station | None = None


class UndoIn(Body):
    """Which station's last scan to undo (omitted: the device's own)."""

    station_id: Station | None = None
