"""Events carry only what the API accepts: the same rules for names, texts, dates, entries."""

from __future__ import annotations

from typing import Any

import pytest

from appliance.core import events as ev
from appliance.core.events import EventError, validate_data
from appliance.core.ids import new_id

PRODUCT = new_id()
LOT = new_id()


def lot_event(**lot: Any) -> dict[str, Any]:
    return {"product_id": PRODUCT, "amount": 1, "lot": lot}


@pytest.mark.parametrize(
    ("event_type", "data", "needle"),
    [
        (ev.PRODUCT_CREATED, {"fields": {"name": "Milk\x00", "unit": "l"}}, "control"),
        (ev.PRODUCT_CREATED, {"fields": {"name": "   ", "unit": "l"}}, "empty"),
        (ev.PRODUCT_UPDATED, {"fields": {"brand": "\x1b[2J"}}, "control"),
        (ev.PRODUCT_UPDATED, {"fields": {"unit": "k\u0085g"}}, "control"),
        (ev.PRODUCT_UPDATED, {"fields": {"barcodes": ["400\x07"]}}, "control"),
        (ev.LOCATION_CREATED, {"fields": {"name": "Fridge\n2"}}, "control"),
        (ev.STOCK_PURCHASED, lot_event(best_before="0001-01-01"), "1970-01-01"),
        (ev.STOCK_PURCHASED, lot_event(best_before="9999-12-31"), "2199-12-31"),
        (ev.STOCK_PURCHASED, lot_event(best_before="20270101"), "YYYY-MM-DD"),
        (ev.STOCK_PURCHASED, lot_event(batch="L\x001"), "control"),
        (ev.STOCK_PURCHASED, lot_event(note="\x07"), "control"),
        (
            ev.LOT_UPDATED,
            {"product_id": PRODUCT, "lot_id": LOT, "fields": {"opened_on": "0001-01-01"}},
            "1970",
        ),
        (ev.SHOPPING_ADDED, {"fields": {"product_id": PRODUCT, "text": "Milk"}}, "not both"),
        (ev.SHOPPING_ADDED, {"fields": {"amount": 1}}, "product_id or a text"),
        (ev.SHOPPING_ADDED, {"fields": {"product_id": None, "text": None}}, "product_id or a text"),
        (ev.SHOPPING_ADDED, {"fields": {"text": "Bread\x00"}}, "control"),
        (ev.SHOPPING_UPDATED, {"fields": {"text": None}}, "name nothing"),
        (ev.SHOPPING_UPDATED, {"fields": {"text": " "}}, "empty"),
    ],
)
def test_refused_like_the_api_refuses_them(event_type: str, data: Any, needle: str) -> None:
    with pytest.raises(EventError, match=needle):
        validate_data(event_type, data)


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        (ev.PRODUCT_CREATED, {"fields": {"name": "Crème fraîche 30 %", "unit": "g"}}),
        (ev.STOCK_PURCHASED, lot_event(best_before="1970-01-01", note="line 1\nline\t2")),
        (ev.STOCK_PURCHASED, lot_event(best_before="2199-12-31", batch="")),
        (ev.SHOPPING_ADDED, {"fields": {"product_id": PRODUCT, "text": None, "auto": True}}),
        (ev.SHOPPING_ADDED, {"fields": {"text": "Bread", "note": None}}),
        (ev.SHOPPING_UPDATED, {"fields": {"amount": 2, "note": None}}),
    ],
)
def test_what_the_api_accepts_passes(event_type: str, data: Any) -> None:
    validate_data(event_type, data)
