"""What a person may change on a read receipt (node and central validate the same bodies)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LineEdit(BaseModel):
    """A person's decision about one line."""

    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID | None = None
    skip: bool | None = None
    amount: float | None = Field(default=None, gt=0, le=100_000)
    location_id: uuid.UUID | None = None
    best_before: dt.date | None = None
    text: str | None = Field(default=None, min_length=1, max_length=200)
    total: Decimal | None = Field(default=None, ge=-100_000, le=100_000, decimal_places=2)


class NewLine(LineEdit):
    """A line the reading missed."""

    text: str = Field(min_length=1, max_length=200)
    total: Decimal = Field(ge=-100_000, le=100_000, decimal_places=2)
    kind: Literal["item", "deposit", "discount"] = "item"


class LinePatch(LineEdit):
    """One entry of ``lines`` in a receipt patch."""

    index: int = Field(ge=0, lt=500)


class ReceiptPatch(BaseModel):
    """Changes to a completed receipt."""

    model_config = ConfigDict(extra="forbid")

    merchant: str | None = Field(default=None, min_length=1, max_length=200)
    date: dt.date | None = None
    total: Decimal | None = Field(default=None, ge=0, le=100_000, decimal_places=2)
    lines: list[LinePatch] = Field(default_factory=list, max_length=500)
    add_lines: list[NewLine] = Field(default_factory=list, max_length=100)


__all__ = ["LineEdit", "LinePatch", "NewLine", "ReceiptPatch"]
