"""The household facts the rules look at, as plain data (read by ``central.notify.gather``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class DatedLot:
    """A lot in stock with a best-before (GS1 AI 15) or use-by (AI 17) date, or both."""

    lot_id: str
    name: str
    best_before: date | None
    use_by: date | None = None
    amount: float | None = None
    unit: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class LowProduct:
    """A product whose stock is below its minimum."""

    product_id: str
    name: str
    stock: float
    min_stock: float
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewReceipt:
    """A receipt that has been read and waits for someone to check it."""

    receipt_id: str
    shop: str | None = None
    total: str | None = None


@dataclass(frozen=True, slots=True)
class NodePresence:
    """A node's presence; ``since`` is when central saw it change, on central's clock."""

    node: str
    online: bool
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the rules need, read at one moment."""

    lots: tuple[DatedLot, ...] = ()
    low: tuple[LowProduct, ...] = ()
    receipts: tuple[ReviewReceipt, ...] = ()
    nodes: tuple[NodePresence, ...] = field(default=())
    # The household's due-soon horizon (its ``due_soon_days`` setting), used unless the
    # notification settings name their own.
    horizon_days: int = 3
