"""What a person may change on a read receipt (node and central validate the same bodies)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from appliance.fields import Day, Money, Name


class LineEdit(BaseModel):
    """A person's decision about one line."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built at first use

    product_id: uuid.UUID | None = None
    skip: bool | None = None
    amount: float | None = Field(default=None, gt=0, le=100_000)
    location_id: uuid.UUID | None = None
    best_before: Day | None = None
    text: Name | None = None
    total: Money | None = None


class NewLine(LineEdit):
    """A line the reading missed."""

    text: Name
    total: Money
    kind: Literal["item", "deposit", "discount"] = "item"


class LinePatch(LineEdit):
    """One entry of ``lines`` in a receipt patch."""

    index: int = Field(ge=0, lt=500)


class ReceiptPatch(BaseModel):
    """Changes to a completed receipt."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    merchant: Name | None = None
    date: Day | None = None
    total: (
        Annotated[
            Money, Field(ge=0), WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100_000})
        ]
        | None
    ) = None
    lines: list[LinePatch] = Field(default_factory=list, max_length=500)
    add_lines: list[NewLine] = Field(default_factory=list, max_length=100)


__all__ = ["LineEdit", "LinePatch", "NewLine", "ReceiptPatch"]
