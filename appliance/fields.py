"""Field types for request bodies and query strings, shared by node and central.

The rules behind them live in ``appliance.core.values`` (events obey the same ones); here they
become pydantic types whose JSON schema states them, so that a request the OpenAPI document
allows is one the server takes.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

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


#: Metadata of every integer body field: JSON Schema's integer includes ``5.0``.
WHOLE = BeforeValidator(_integral)


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
# A product's notes: the same, longer.
Notes = Annotated[str, StringConstraints(max_length=2000), *_TEXT]
# The schema says the year range too, so that generated dates are ones the server takes.
_YEARS = r"^(19[7-9][0-9]|2[01][0-9][0-9])-[0-9]{2}-[0-9]{2}$"
Day = Annotated[
    date, Field(strict=False, json_schema_extra={"pattern": _YEARS}), _checked(values.date_problem)
]
Id = Annotated[UUID, Field(strict=False)]
Days = Annotated[int, Field(ge=0, le=36_500), WHOLE]
Station = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Mode = Literal["add", "consume", "lookup", "open", "spoiled", "shopping"]
Priority = Literal["urgent", "normal", "low"]
# A device's name from pairing: shown in history ("Added 1 on iPad") and the device list.
DeviceName = Annotated[str, _trimmed(64), *_NAME]


def _cents(value: Decimal) -> Decimal:
    """Money is kept to the cent: a total sent with more places is rounded, not refused."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


# Amounts of money on receipts (a discount or deposit line is negative). The schema says a
# number; the decimal string that a node forwards to central ("1.99") is read as well.
Money = Annotated[
    Decimal,
    Field(ge=-100_000, le=100_000, allow_inf_nan=False),
    AfterValidator(_cents),
    WithJsonSchema({"type": "number", "minimum": -100_000, "maximum": 100_000}),
]
