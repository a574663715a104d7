"""Request bodies and query strings: strict types, unknown fields rejected."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from appliance.fields import (
    DIGITS,
    SQLITE_MAX_INT,
    WHOLE,
    Amount,
    Batch,
    Count,
    Day,
    Days,
    DeviceName,
    Id,
    LocationName,
    Mode,
    Name,
    Notes,
    Priority,
    Station,
    Text,
    Unit,
    Url,
)


def _body_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Fields that may be left out but not sent as null are not nullable in the schema."""
    not_null: frozenset[str] = getattr(model, "not_null", frozenset())
    for name, sub in schema.get("properties", {}).items():
        options = sub.get("anyOf")
        if name in not_null and options:
            kept = [option for option in options if option.get("type") != "null"]
            sub.pop("anyOf")
            sub.pop("default", None)
            if len(kept) == 1:
                sub.update(kept[0])
            else:
                sub["anyOf"] = kept


class Body(BaseModel):
    """Base for JSON bodies: strict JSON types, unknown fields are errors.

    ``not_null`` names the optional fields for which null means nothing sensible: leaving
    them out is fine, sending null is a 422 that says so (and the schema does not offer it).
    """

    # Validators are built at a model's first use, not at import: a node that is never
    # asked to move stock or edit a location keeps their memory (idle RSS budget).
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra=_body_schema, defer_build=True
    )
    not_null: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name in cls.not_null:
            raise ValueError("may not be null; leave the field out instead")
        return value


class Query(BaseModel):
    """Base for query strings (values arrive as text and are converted)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # as Body's


def _id(value: UUID | None) -> str | None:
    return None if value is None else str(value)


Barcode = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ProductIn(Body):
    """A new product."""

    not_null = frozenset({"unit", "barcodes"})

    name: Name
    brand: Name | None = None
    barcodes: list[Barcode] = Field(default_factory=list, max_length=50)
    category: Name | None = None
    unit: Unit = "piece"
    pack_size: Amount | None = None
    min_stock: Count | None = None
    default_location_id: Id | None = None
    default_best_before_days: Days | None = None
    default_best_before_days_after_opening: Days | None = None
    default_best_before_days_after_freezing: Days | None = None
    notes: Notes | None = None
    image_url: Url | None = None

    def fields(self) -> dict[str, object]:
        """The event fields (unset optional values left out)."""
        data = self.model_dump(exclude_unset=True)
        if "default_location_id" in data:
            data["default_location_id"] = _id(self.default_location_id)
        data.setdefault("unit", self.unit)
        return data


class ProductPatch(Body):
    """Changes to a product; only the fields given change, null clears an optional one."""

    not_null = frozenset({"name", "unit", "barcodes"})

    name: Name | None = None
    brand: Name | None = None
    barcodes: list[Barcode] | None = Field(default=None, max_length=50)
    category: Name | None = None
    unit: Unit | None = None
    pack_size: Amount | None = None
    min_stock: Count | None = None
    default_location_id: Id | None = None
    default_best_before_days: Days | None = None
    default_best_before_days_after_opening: Days | None = None
    default_best_before_days_after_freezing: Days | None = None
    notes: Notes | None = None
    image_url: Url | None = None

    def fields(self) -> dict[str, object]:
        """The changed fields."""
        data = self.model_dump(exclude_unset=True)
        if "default_location_id" in data:
            data["default_location_id"] = _id(self.default_location_id)
        return data


class ProductsQuery(Query):
    """Product list filters."""

    search: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=5000), DIGITS] = 500
    offset: Annotated[int, Field(ge=0, le=10_000_000), DIGITS] = 0


class EnrichQuery(Query):
    """Which barcode to look up."""

    barcode: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=512)]


SortKey = Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000), WHOLE]


class LocationIn(Body):
    """A new location: its name, where it sorts (last when not given), whether it freezes."""

    name: LocationName
    sort_key: SortKey | None = None
    freezer: bool = False


class LocationPatch(Body):
    """Rename, reorder or mark as a freezer; only the fields given change."""

    not_null = frozenset({"name", "sort_key", "freezer"})

    name: LocationName | None = None
    sort_key: SortKey | None = None
    freezer: bool | None = None


class LocationOrderIn(Body):
    """Every location to reorder, in the order wanted."""

    ids: list[Id] = Field(min_length=1, max_length=1000)


class LocationDeleteQuery(Query):
    """Where a deleted location's stock goes."""

    move_to: UUID | None = None


class BarcodeIn(Body):
    """A barcode to add to a product."""

    barcode: Barcode


class MergeIn(Body):
    """The product this one turned out to be."""

    into: Id


class ProductDeleteQuery(Query):
    """What happens to a deleted product's stock: refused while there is any, or removed."""

    stock: Literal["refuse", "remove"] = "refuse"


class RecountIn(Body):
    """What is really there, in all locations or in one."""

    amount: Count
    location_id: Id | None = None


NodeName = DeviceName


class SettingsPatch(Body):
    """Household settings (synced) and this node's own name (local)."""

    not_null = frozenset({"due_soon_days", "node_name"})

    due_soon_days: Annotated[int, Field(ge=0, le=365), WHOLE] | None = None
    node_name: NodeName | None = None


class LotIn(Body):
    """Stock added by hand."""

    not_null = frozenset({"amount"})

    product_id: Id
    amount: Amount = 1
    location_id: Id | None = None
    best_before: Day | None = None
    batch: Batch | None = None
    note: Text | None = None
    price: Count | None = None


class LotPatch(Body):
    """Corrections to a lot: a recount, dates, batch, note, or a move.

    Null clears ``best_before``, ``batch`` and ``note``; a lot always has an amount, and a move
    needs a place to go, so ``amount`` and ``location_id`` may not be null.
    """

    not_null = frozenset({"amount", "location_id"})

    amount: Count | None = None
    best_before: Day | None = None
    batch: Batch | None = None
    note: Text | None = None
    location_id: Id | None = None


class InventoryQuery(Query):
    """Lot list filters."""

    location_id: UUID | None = None
    product_id: UUID | None = None
    expiring_within_days: Annotated[int, Field(ge=0, le=3650), DIGITS] | None = None
    due_soon: bool | None = None  # true: due within the household's horizon (or expired)
    limit: Annotated[int, Field(ge=1, le=20_000), DIGITS] = 500
    offset: Annotated[int, Field(ge=0, le=10_000_000), DIGITS] = 0


class SummaryQuery(Query):
    """Summary filters."""

    location_id: UUID | None = None


class ConsumeIn(Body):
    """Take stock from a lot: an amount or ``"all"``; more than it holds only when
    ``allow_negative``."""

    not_null = frozenset({"amount", "spoiled"})

    amount: Amount | Literal["all"] = 1
    spoiled: bool = False
    allow_negative: bool = False


class OpenIn(Body):
    """Open a lot, or part of it (null or no amount: the whole lot)."""

    amount: Amount | None = None


class ProductConsumeIn(ConsumeIn):
    """Take stock of a product (its lots chosen as a scan would)."""


class ProductOpenIn(OpenIn):
    """Open the product's next unopened lot (one piece of a pack)."""


class TransferIn(Body):
    """Move a lot, or part of it (null or no amount: the whole lot)."""

    location_id: Id
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
    limit: Annotated[int, Field(ge=1, le=1000), DIGITS] = 100
    before: Annotated[int, Field(ge=1, le=SQLITE_MAX_INT), DIGITS] | None = None

    def kinds(self) -> list[str] | None:
        """The kinds asked for (``kind=consume,spoil``)."""
        return None if self.kind is None else self.kind.split(",")


def _one_of_product_or_text(schema: dict[str, Any], model: type[BaseModel]) -> None:
    _body_schema(schema, model)
    schema["oneOf"] = [{"required": ["product_id"]}, {"required": ["text"]}]


class ShoppingIn(Body):
    """Something to buy: a product, or free text for what is not a product; not both."""

    model_config = ConfigDict(json_schema_extra=_one_of_product_or_text)
    not_null = frozenset({"product_id", "text", "amount", "priority"})

    product_id: Id | None = None
    text: Name | None = None
    amount: Amount = 1
    priority: Priority = "normal"
    note: Text | None = None

    @model_validator(mode="after")
    def _product_or_text(self) -> ShoppingIn:
        if (self.product_id is None) == (self.text is None):
            raise ValueError(
                "give a product_id or a text, not both: a product's entry shows the"
                " product's name, and a note can say more"
            )
        return self


class ShoppingPatch(Body):
    """Changes to a shopping entry; null clears the note.

    ``text`` changes a free-text entry's text; it cannot be cleared (the entry would name
    nothing) and a product's entry has none (see the service).
    """

    not_null = frozenset({"text", "amount", "priority", "purchased"})

    text: Name | None = None
    amount: Amount | None = None
    priority: Priority | None = None
    note: Text | None = None
    purchased: bool | None = None


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
    """Check an entry off; products go into stock (null: the entry's amount, no place)."""

    amount: Amount | None = None
    location_id: Id | None = None
    best_before: Day | None = None


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


class HardwareStateQuery(Query):
    """Long poll: answer once the display's version is past ``after`` (or at once)."""

    after: Annotated[int, Field(ge=0, le=SQLITE_MAX_INT), DIGITS] | None = None


class HardwareScanIn(Body):
    """Text typed into the scan box's scanner (its own length limit applies too)."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"\S")]
