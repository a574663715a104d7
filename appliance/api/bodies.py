"""Request bodies and query strings: strict types, unknown fields rejected."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from appliance.core import values

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


#: Metadata of every integer query parameter: ``Annotated[int, Field(ge=, le=), DIGITS]``.
DIGITS = BeforeValidator(_ascii_whole)


def _integral(value: object) -> object:
    """JSON Schema's integer includes ``5.0``; take it, and nothing else that is not an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _checked(problem: Any) -> AfterValidator:
    """A validator that raises the message ``problem(value)`` gives (None: valid)."""

    def check(value: Any) -> Any:
        message = problem(value)
        if message is not None:
            raise ValueError(message)
        return value

    return AfterValidator(check)


_NAME = (_checked(values.name_problem), Field(json_schema_extra={"pattern": values.NAME_PATTERN}))
_LINE = (_checked(values.line_problem), Field(json_schema_extra={"pattern": values.LINE_PATTERN}))
_TEXT = (_checked(values.text_problem), Field(json_schema_extra={"pattern": values.TEXT_PATTERN}))


def _trimmed(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# Amounts are kept in thousandths: anything below one rounds to nothing.
Amount = Annotated[float, Field(ge=0.001, le=1e9, allow_inf_nan=False)]
Count = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
# Names: one line, no control characters, not blank; surrounding spaces are dropped.
Name = Annotated[str, _trimmed(200), *_NAME]
LocationName = Annotated[str, _trimmed(100), *_NAME]
Unit = Annotated[str, _trimmed(20), *_NAME]
Batch = Annotated[str, _trimmed(100), *_NAME]
Url = Annotated[str, StringConstraints(max_length=2000), *_LINE]
# Notes: line breaks and tabs allowed, no other control characters.
Text = Annotated[str, StringConstraints(max_length=500), *_TEXT]
# The schema says the year range too, so that generated dates are ones the server takes.
_YEARS = r"^(19[7-9][0-9]|2[01][0-9][0-9])-[0-9]{2}-[0-9]{2}$"
Day = Annotated[
    date, Field(strict=False, json_schema_extra={"pattern": _YEARS}), _checked(values.date_problem)
]
Id = Annotated[UUID, Field(strict=False)]
Days = Annotated[int, Field(ge=0, le=36_500), BeforeValidator(_integral)]
Station = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Mode = Literal["add", "consume", "lookup", "open", "spoiled", "shopping"]
Priority = Literal["urgent", "normal", "low"]


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

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_body_schema)
    not_null: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*")
    @classmethod
    def _refuse_null(cls, value: object, info: ValidationInfo) -> object:
        if value is None and info.field_name in cls.not_null:
            raise ValueError("may not be null; leave the field out instead")
        return value


class Query(BaseModel):
    """Base for query strings (values arrive as text and are converted)."""

    model_config = ConfigDict(extra="forbid")


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


class LocationIn(Body):
    """A location's name."""

    name: LocationName


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
    limit: Annotated[int, Field(ge=1, le=20_000), DIGITS] = 500
    offset: Annotated[int, Field(ge=0, le=10_000_000), DIGITS] = 0


class SummaryQuery(Query):
    """Summary filters."""

    location_id: UUID | None = None


class ConsumeIn(Body):
    """Take stock from a lot."""

    not_null = frozenset({"amount", "spoiled"})

    amount: Amount = 1
    spoiled: bool = False


class OpenIn(Body):
    """Open a lot, or part of it (null or no amount: the whole lot)."""

    amount: Amount | None = None


class TransferIn(Body):
    """Move a lot, or part of it (null or no amount: the whole lot)."""

    location_id: Id
    amount: Amount | None = None


class JournalQuery(Query):
    """Journal filters."""

    product_id: UUID | None = None
    limit: Annotated[int, Field(ge=1, le=1000), DIGITS] = 100
    before: Annotated[int, Field(ge=1, le=SQLITE_MAX_INT), DIGITS] | None = None


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


class ShoppingClearQuery(Query):
    """Which entries ``DELETE /api/shopping`` removes."""

    purchased: bool | None = None


class PurchaseIn(Body):
    """Check an entry off; products go into stock (null: the entry's amount, no place)."""

    amount: Amount | None = None
    location_id: Id | None = None
    best_before: Day | None = None


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

    after: Annotated[int, Field(ge=0, le=SQLITE_MAX_INT), DIGITS] | None = None


class HardwareScanIn(Body):
    """Text typed into the scan box's scanner (its own length limit applies too)."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=4096, pattern=r"\S")]
