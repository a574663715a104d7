"""Valid events for tests, built the way a node builds them (gap-free seq, Lamport clock)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from appliance.core import events as ev
from appliance.core.events import Event, parse_event
from appliance.core.ids import new_id, product_id_for_code

_BARCODES = itertools.count(4000000000000)


def gtin13(body: int) -> str:
    """A 13-digit code with a correct check digit."""
    digits = f"{body % 10**12:012d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


@dataclass
class EventFactory:
    """Events of one origin: seq 1, 2, 3, ... without gaps."""

    origin: str
    seq: int = 0
    lamport: int = 0
    timestamp: str = "2026-11-25T19:30:00.000Z"
    products: list[str] = field(default_factory=list)

    def make(self, event_type: str, entity_id: str, data: dict[str, Any]) -> Event:
        """Validate and return the next event of this origin."""
        self.seq += 1
        self.lamport += 1
        return parse_event(
            Event(
                event_id=new_id(),
                origin=self.origin,
                seq=self.seq,
                lamport=self.lamport,
                type=event_type,
                entity_id=entity_id,
                data=data,
                timestamp=self.timestamp,
            ).to_dict()
        )

    def product(self, name: str = "Milk", barcode: str | None = None, **fields: Any) -> Event:
        """``product.created`` (the id derived from the barcode, as nodes do)."""
        code = barcode or gtin13(next(_BARCODES))
        product_id = product_id_for_code(code)
        self.products.append(product_id)
        body = {"name": name, "barcodes": [code], "unit": "piece", **fields}
        return self.make(ev.PRODUCT_CREATED, product_id, {"fields": body})

    def purchase(self, product_id: str, amount: float = 1, lot_id: str | None = None) -> Event:
        """``stock.purchased`` into a new lot."""
        return self.make(
            ev.STOCK_PURCHASED,
            lot_id or new_id(),
            {"product_id": product_id, "amount": amount, "lot": {"source": "scan"}},
        )

    def consume(self, product_id: str, lot_id: str, amount: float = 1) -> Event:
        """``stock.consumed`` from one lot."""
        return self.make(
            ev.STOCK_CONSUMED,
            new_id(),
            {"product_id": product_id, "lots": [{"lot_id": lot_id, "amount": amount}]},
        )

    def shopping(self, text: str) -> Event:
        """``shopping.added``."""
        return self.make(ev.SHOPPING_ADDED, new_id(), {"fields": {"text": text}})

    def scans(self, count: int) -> list[Event]:
        """A realistic mix: a product, then purchases and consumptions of it."""
        out: list[Event] = []
        product = self.product(f"Product {self.origin} {self.seq}")
        out.append(product)
        lot = None
        while len(out) < count:
            if lot is None or len(out) % 3:
                purchase = self.purchase(product.entity_id, 2)
                lot = purchase.entity_id
                out.append(purchase)
            else:
                out.append(self.consume(product.entity_id, lot, 1))
        return out
