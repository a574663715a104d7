"""The result of reading a receipt: plain data that goes to JSON and back without loss."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

LineKind = Literal["item", "deposit", "discount"]
Unit = Literal["piece", "kg", "l"]


class ReadFailed(Exception):
    """A receipt that could not be read; ``reason`` is a sentence for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class ReceiptLine:
    """One priced line as printed: an item, a deposit (Pfand/Leergut) or a discount."""

    kind: LineKind
    text: str
    quantity: Decimal | None = None
    unit: Unit | None = None
    unit_price: Decimal | None = None
    total: Decimal = Decimal("0.00")
    vat: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, amounts as strings ("1.99")."""
        return {
            "kind": self.kind,
            "text": self.text,
            "quantity": _str(self.quantity),
            "unit": self.unit,
            "unit_price": _str(self.unit_price),
            "total": str(self.total),
            "vat": self.vat,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReceiptLine:
        """The inverse of to_dict."""
        total = _dec(data["total"])
        assert total is not None
        return cls(
            kind=data["kind"],
            text=data["text"],
            total=total,
            quantity=_dec(data.get("quantity")),
            unit=data.get("unit"),
            unit_price=_dec(data.get("unit_price")),
            vat=data.get("vat"),
        )


@dataclass
class ReceiptDraft:
    """What was read off one receipt, waiting for a person to review it."""

    merchant: str | None = None
    date: str | None = None  # ISO 8601 date
    time: str | None = None  # HH:MM
    currency: str = "EUR"
    total: Decimal | None = None
    payment: str | None = None
    lines: list[ReceiptLine] = field(default_factory=list)
    lines_sum: Decimal = Decimal("0.00")
    consistent: bool = False
    warnings: list[str] = field(default_factory=list)
    source: str = "ocr"  # "ocr" or "pdf-text": how the text was obtained

    def check(self) -> ReceiptDraft:
        """Recompute the sum of the lines and whether it equals the printed total."""
        self.lines_sum = sum((line.total for line in self.lines), Decimal("0.00"))
        self.consistent = self.total is not None and self.lines_sum == self.total
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, amounts as strings."""
        return {
            "merchant": self.merchant,
            "date": self.date,
            "time": self.time,
            "currency": self.currency,
            "total": _str(self.total),
            "payment": self.payment,
            "lines": [line.to_dict() for line in self.lines],
            "lines_sum": str(self.lines_sum),
            "consistent": self.consistent,
            "warnings": list(self.warnings),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReceiptDraft:
        """The inverse of to_dict."""
        return cls(
            merchant=data.get("merchant"),
            date=data.get("date"),
            time=data.get("time"),
            currency=data.get("currency", "EUR"),
            total=_dec(data.get("total")),
            payment=data.get("payment"),
            lines=[ReceiptLine.from_dict(line) for line in data.get("lines", [])],
            lines_sum=Decimal(str(data.get("lines_sum", "0.00"))),
            consistent=bool(data.get("consistent", False)),
            warnings=list(data.get("warnings", [])),
            source=data.get("source", "ocr"),
        )

    def to_json(self) -> str:
        """The draft as a JSON document."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> ReceiptDraft:
        """A draft from to_json's output."""
        return cls.from_dict(json.loads(text))
