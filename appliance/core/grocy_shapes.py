"""Our views in Grocy's shapes (Grocy 4: integer ids, numbers as JSON numbers).

Pure functions from the views the node and central already serve (products, locations,
lots, shopping entries, journal entries) to the objects Grocy's API answers with, so both
can speak Grocy the same way. Integer ids come in through ``Ints`` (the stored index of
``appliance.core.grocy_ids``); a key missing from it gets its first candidate.

Dates as Grocy writes them: ``YYYY-MM-DD``; timestamps ``YYYY-MM-DD HH:MM:SS``; a stock
entry without a best-before date has Grocy's "never overdue" date ``2999-12-31``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Final

from appliance.core import grocy_ids
from appliance.core.entities import LotState
from appliance.core.grocy_ids import Kind
from appliance.core.stock import lot_due

#: The Grocy version we answer as (Barcode Buddy needs 4.0.3 or later); the shapes follow
#: the API description of Grocy 4.x.
GROCY_VERSION: Final = {"Version": "4.5.0", "ReleaseDate": "2025-03-28"}
NEVER_DUE: Final = "2999-12-31"
#: What a timestamp reads when there is none to tell (rows made before clocks were set).
NO_TIMESTAMP: Final = "2000-01-01 00:00:00"
DUE_BEST_BEFORE: Final = 1
DUE_USE_BY: Final = 2


@dataclass(slots=True)
class Ints:
    """Integer ids by kind and key, as the index holds them."""

    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    def of(self, kind: Kind, key: str | None) -> int | None:
        """The id of ``key`` (None for no key)."""
        if key is None:
            return None
        known = self.by_kind.get(kind, {}).get(key)
        return known if known is not None else grocy_ids.first_int(kind, key)

    def product(self, product_id: str | None) -> int | None:
        """A product's id."""
        return self.of("product", product_id)

    def location(self, location_id: str | None) -> int | None:
        """A location's id."""
        return self.of("location", location_id)

    def unit(self, unit: str) -> int:
        """A quantity unit's id."""
        return self.of("quantity_unit", grocy_ids.unit_key(unit)) or 0


def unit_price(lot: LotState) -> float | None:
    """Grocy's price of a stock entry (per unit) from ours (what the lot cost as bought).

    The amount bought is the delta of the event that wrote the price (the purchase), or,
    for a price entered later, of the purchase itself. Grocy's clients read
    ``lot["unit_price"]``, which the readers set from this.
    """
    price = lot.attr("price")
    if price is None:
        return None
    writers = [
        ((w[0], w[1], eid), eid)
        for eid, w in lot.writes.get("price", {}).items()
        if eid not in lot.undone
    ]
    origins = [eid for eid in lot.writes.get("origin", {}) if eid not in lot.undone]
    bought = None
    if writers:
        bought = lot.deltas.get(max(writers)[1])
    if bought is None and origins:
        bought = lot.deltas.get(min(origins))
    if not bought or bought <= 0:
        return None
    return float(price) / (bought / 1000)


def timestamp(text: str | None) -> str:
    """An ISO timestamp (``2026-11-25T19:30:00.123Z``) as Grocy writes one."""
    if not text:
        return NO_TIMESTAMP
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return NO_TIMESTAMP
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def created_timestamp(entity_id: str) -> str:
    """When a UUIDv7 was made (display only: node clocks are not trusted), else a fixed one.

    Ids made from a barcode (UUIDv5) carry no time.
    """
    try:
        value = uuid.UUID(entity_id)
    except ValueError:
        return NO_TIMESTAMP
    if value.version != 7:
        return NO_TIMESTAMP
    millis = value.int >> 80
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    if moment.year < 2001:
        return NO_TIMESTAMP
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def number(value: Any, default: float = 0.0) -> float | int:
    """A JSON number: whole amounts as integers (``2``, not ``2.0``), as Grocy 4 sends them."""
    if value is None:
        return default
    result = float(value)
    return int(result) if result.is_integer() and abs(result) < 2**53 else result


def _days(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def due_type(use_by: bool) -> int:
    """Grocy's ``due_type``: 1 best-before (GS1 AI 15), 2 use-by / expiry (AI 17)."""
    return DUE_USE_BY if use_by else DUE_BEST_BEFORE


def product(view: Mapping[str, Any], ints: Ints, *, use_by: bool = False) -> dict[str, Any]:
    """A product as Grocy's ``products`` row."""
    unit = ints.unit(str(view.get("unit") or "piece"))
    return {
        "id": ints.product(str(view["id"])),
        "name": view.get("name") or "",
        "description": view.get("notes"),
        "product_group_id": None,
        "active": 1,
        "location_id": ints.location(view.get("default_location_id")),
        "shopping_location_id": None,
        "qu_id_purchase": unit,
        "qu_id_stock": unit,
        "qu_id_consume": unit,
        "qu_id_price": unit,
        "min_stock_amount": number(view.get("min_stock")),
        "default_best_before_days": _days(view.get("default_best_before_days")),
        "default_best_before_days_after_open": _days(
            view.get("default_best_before_days_after_opening")
        ),
        "default_best_before_days_after_freezing": _days(
            view.get("default_best_before_days_after_freezing")
        ),
        "default_best_before_days_after_thawing": 0,
        "picture_file_name": None,
        "enable_tare_weight_handling": 0,
        "tare_weight": 0,
        "not_check_stock_fulfillment_for_recipes": 0,
        "parent_product_id": None,
        "calories": None,
        "cumulate_min_stock_amount_of_sub_products": 0,
        "due_type": due_type(use_by),
        "quick_consume_amount": 1,
        "quick_open_amount": 1,
        "hide_on_stock_overview": 0,
        "default_stock_label_type": 0,
        "should_not_be_frozen": 0,
        "treat_opened_as_out_of_stock": 1,
        "no_own_stock": 0,
        "default_consume_location_id": None,
        "move_on_open": 0,
        "auto_reprint_stock_label": 0,
        "row_created_timestamp": created_timestamp(str(view["id"])),
        "userfields": None,
    }


def quantity_unit(unit: str, ints: Ints) -> dict[str, Any]:
    """One of our unit names as Grocy's ``quantity_units`` row."""
    return {
        "id": ints.unit(unit),
        "name": unit,
        "name_plural": unit,
        "description": None,
        "plural_forms": None,
        "active": 1,
        "row_created_timestamp": NO_TIMESTAMP,
        "userfields": None,
    }


def location(view: Mapping[str, Any], ints: Ints) -> dict[str, Any]:
    """A location as Grocy's ``locations`` row."""
    return {
        "id": ints.location(str(view["id"])),
        "name": view.get("name") or "",
        "description": None,
        "is_freezer": int(bool(view.get("freezer"))),
        "active": 1,
        "row_created_timestamp": created_timestamp(str(view["id"])),
        "userfields": None,
    }


def barcodes(view: Mapping[str, Any], ints: Ints) -> list[dict[str, Any]]:
    """A product's barcodes as Grocy's ``product_barcodes`` rows."""
    product_id = str(view["id"])
    unit = ints.unit(str(view.get("unit") or "piece"))
    return [
        {
            "id": ints.of("barcode", f"{product_id}|{code}"),
            "product_id": ints.product(product_id),
            "barcode": code,
            "qu_id": unit,
            "amount": None,
            "shopping_location_id": None,
            "last_price": None,
            "note": None,
            "row_created_timestamp": created_timestamp(product_id),
            "userfields": None,
        }
        for code in view.get("barcodes") or []
    ]


def stock_entry(lot: Mapping[str, Any], ints: Ints) -> dict[str, Any]:
    """A lot as Grocy's ``stock`` row (a stock entry)."""
    lot_id = str(lot["id"])
    return {
        "id": ints.of("lot", lot_id),
        "product_id": ints.product(lot.get("product_id")),
        "location_id": ints.location(lot.get("location_id")),
        "shopping_location_id": None,
        "amount": number(lot.get("amount")),
        "best_before_date": lot_due(lot)[0] or NEVER_DUE,
        "purchased_date": lot.get("purchased_on") or created_timestamp(lot_id)[:10],
        "stock_id": grocy_ids.stock_id(lot_id),
        "price": None if lot.get("unit_price") is None else number(lot["unit_price"]),
        "open": int(lot.get("opened_on") is not None),
        "opened_date": lot.get("opened_on"),
        "note": lot.get("note"),
        "row_created_timestamp": created_timestamp(lot_id),
        "userfields": None,
    }


@dataclass(slots=True)
class ProductStock:
    """What a product's lots in stock add up to (``summarise``)."""

    amount: float = 0.0
    opened: float = 0.0
    value: float = 0.0
    next_due: str | None = None
    use_by: bool = False
    lots: list[Mapping[str, Any]] = field(default_factory=list)


def summarise(lots: Iterable[Mapping[str, Any]]) -> dict[str, ProductStock]:
    """Per product id: amount, opened amount, value, next due date and whether that date is a
    use-by date (the earliest-due lot's), from lots in stock."""
    result: dict[str, ProductStock] = {}
    for lot in lots:
        product_id = lot.get("product_id")
        if not product_id:
            continue
        stock = result.setdefault(str(product_id), ProductStock())
        amount = float(lot.get("amount") or 0)
        stock.amount += amount
        if lot.get("opened_on") is not None:
            stock.opened += amount
        if lot.get("unit_price") is not None:
            stock.value += amount * float(lot["unit_price"])
        due, use_by = lot_due(lot)
        if due and (stock.next_due is None or due < stock.next_due):
            stock.next_due = due
            stock.use_by = use_by
        stock.lots.append(lot)
    return result


def current_stock(view: Mapping[str, Any], stock: ProductStock, ints: Ints) -> dict[str, Any]:
    """One product of ``GET /stock`` (Grocy's CurrentStockResponse)."""
    return {
        "product_id": ints.product(str(view["id"])),
        "amount": number(stock.amount),
        "amount_aggregated": number(stock.amount),
        "value": number(stock.value),
        "best_before_date": stock.next_due or NEVER_DUE,
        "amount_opened": number(stock.opened),
        "amount_opened_aggregated": number(stock.opened),
        "is_aggregated_amount": 0,
        "due_type": due_type(stock.use_by),
        "product": product(view, ints, use_by=stock.use_by),
    }


def missing_product(
    view: Mapping[str, Any], stock: ProductStock | None, ints: Ints
) -> dict[str, Any]:
    """A product below its minimum stock, as ``missing_products`` lists it."""
    amount = stock.amount if stock else 0.0
    return {
        "id": ints.product(str(view["id"])),
        "name": view.get("name") or "",
        "amount_missing": number(float(view.get("min_stock") or 0) - max(amount, 0.0)),
        "is_partly_in_stock": int(amount > 0),
    }


def volatile(
    views: Mapping[str, Mapping[str, Any]],
    stock: Mapping[str, ProductStock],
    ints: Ints,
    *,
    today: date | None,
    due_limit: str | None,
) -> dict[str, list[dict[str, Any]]]:
    """``GET /stock/volatile``: due soon, overdue (best-before past), expired (use-by past),
    and below minimum stock. Without a plausible clock nothing is due or past."""
    due: list[dict[str, Any]] = []
    overdue: list[dict[str, Any]] = []
    expired: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    now = today.isoformat() if today else None
    for product_id, view in views.items():
        held = stock.get(product_id)
        if held is not None and held.next_due and now is not None and held.amount > 0:
            row = current_stock(view, held, ints)
            if held.next_due < now:
                (expired if held.use_by else overdue).append(row)
            elif due_limit is not None and held.next_due <= due_limit:
                due.append(row)
        minimum = view.get("min_stock")
        if minimum is not None and (held.amount if held else 0.0) < float(minimum):
            missing.append(missing_product(view, held, ints))
    return {
        "due_products": due,
        "overdue_products": overdue,
        "expired_products": expired,
        "missing_products": missing,
    }


def past_due(
    stock: Mapping[str, ProductStock],
    live: Mapping[str, Any],
    today: date | None,
    *,
    use_by: bool,
) -> list[str]:
    """The products in stock whose next due date is past: by use-by (expired) or by
    best-before (overdue), as ``volatile`` sorts them; none without a plausible clock."""
    now = today.isoformat() if today else None
    return sorted(
        pid
        for pid, held in stock.items()
        if now is not None
        and held.amount > 0
        and held.next_due is not None
        and held.next_due < now
        and held.use_by == use_by
        and pid in live
    )


def product_details(
    view: Mapping[str, Any],
    stock: ProductStock | None,
    ints: Ints,
    *,
    location_view: Mapping[str, Any] | None,
    last_purchased: str | None = None,
    last_used: str | None = None,
    last_price: float | None = None,
) -> dict[str, Any]:
    """``GET /stock/products/{id}`` (Grocy's ProductDetailsResponse)."""
    held = stock or ProductStock()
    unit = quantity_unit(str(view.get("unit") or "piece"), ints)
    place = None if location_view is None else location(location_view, ints)
    amount = number(held.amount)
    prices = [float(lot["unit_price"]) for lot in held.lots if lot.get("unit_price") is not None]
    average = sum(prices) / len(prices) if prices else None
    return {
        "product": product(view, ints, use_by=held.use_by),
        "product_barcodes": barcodes(view, ints),
        "quantity_unit_stock": unit,
        "default_quantity_unit_purchase": unit,
        "default_quantity_unit_consume": unit,
        "quantity_unit_price": unit,
        "last_purchased": last_purchased,
        "last_used": last_used,
        "stock_amount": amount,
        "stock_value": number(held.value),
        "stock_amount_opened": number(held.opened),
        "stock_amount_aggregated": amount,
        "stock_amount_opened_aggregated": number(held.opened),
        "next_due_date": held.next_due or (NEVER_DUE if held.lots else None),
        "last_price": None if last_price is None else number(last_price),
        "avg_price": None if average is None else number(average),
        "current_price": None if last_price is None else number(last_price),
        "oldest_price": None if last_price is None else number(last_price),
        "last_shopping_location_id": None,
        "location": place,
        "default_location": place,
        "average_shelf_life_days": None,
        "spoil_rate_percent": 0,
        "is_aggregated_amount": 0,
        "has_childs": False,
        "qu_conversion_factor_purchase_to_stock": 1,
        "qu_conversion_factor_price_to_stock": 1,
        "default_consume_location": None,
    }


#: Our journal's kinds as Grocy's ``transaction_type``.
TRANSACTION_TYPES: Final = {
    "purchase": "purchase",
    "consume": "consume",
    "spoil": "consume",
    "open": "product-opened",
    "recount": "inventory-correction",
    "transfer": "transfer_to",
    "remove": "consume",
}


def stock_log(
    *,
    transaction_id: str,
    kind: str,
    product_id: str,
    lot: Mapping[str, Any] | None,
    lot_id: str,
    amount: float,
    ints: Ints,
    when: str | None,
    row_key: str,
) -> dict[str, Any]:
    """One row of Grocy's ``stock_log`` for one lot a journal entry touched.

    ``amount`` is signed as Grocy signs it (negative for a consume); ``row_key`` names the
    row (event id and lot), from which its integer id is derived.
    """
    lot = lot or {}
    stamp = timestamp(when)
    return {
        "id": grocy_ids.first_int("stock_log", row_key),
        "product_id": ints.product(product_id),
        "amount": number(amount),
        "best_before_date": lot_due(lot)[0] or NEVER_DUE,
        "purchased_date": lot.get("purchased_on") or stamp[:10],
        "used_date": stamp[:10] if kind in ("consume", "spoil", "remove") else None,
        "spoiled": int(kind == "spoil"),
        "stock_id": grocy_ids.stock_id(lot_id),
        "transaction_id": transaction_id,
        "transaction_type": TRANSACTION_TYPES.get(kind, kind),
        "price": None if lot.get("unit_price") is None else number(lot["unit_price"]),
        "undone": 0,
        "undone_timestamp": None,
        "opened_date": lot.get("opened_on"),
        "location_id": ints.location(lot.get("location_id")),
        "recipe_id": None,
        "correlation_id": None,
        "user_id": 1,
        "note": lot.get("note"),
        "row_created_timestamp": stamp,
    }


def shopping_item(view: Mapping[str, Any], ints: Ints, unit: str | None) -> dict[str, Any]:
    """A shopping-list entry as Grocy's ``shopping_list`` row (our one list is list 1)."""
    text = view.get("text")
    note = view.get("note")
    if text and note:
        note = f"{text} ({note})"
    elif text:
        note = text
    return {
        "id": ints.of("shopping", str(view["id"])),
        "product_id": ints.product(view.get("product_id")),
        "note": note,
        "amount": number(view.get("amount"), 1.0),
        "shopping_list_id": grocy_ids.SHOPPING_LIST_INT,
        "done": int(bool(view.get("purchased"))),
        "qu_id": None if unit is None else ints.unit(unit),
        "row_created_timestamp": created_timestamp(str(view["id"])),
        "userfields": None,
    }


def shopping_list() -> dict[str, Any]:
    """Our one shopping list as Grocy's ``shopping_lists`` row."""
    return {
        "id": grocy_ids.SHOPPING_LIST_INT,
        "name": "Shopping list",
        "description": None,
        "row_created_timestamp": NO_TIMESTAMP,
        "userfields": None,
    }


def feature_flags(*, label_printer: bool = False) -> dict[str, bool]:
    """Grocy's ``FEATURE_FLAG_*`` settings: stock and shopping on; what we do not have off."""
    return {
        "FEATURE_FLAG_STOCK": True,
        "FEATURE_FLAG_SHOPPINGLIST": True,
        "FEATURE_FLAG_RECIPES": False,
        "FEATURE_FLAG_CHORES": False,
        "FEATURE_FLAG_TASKS": False,
        "FEATURE_FLAG_BATTERIES": False,
        "FEATURE_FLAG_EQUIPMENT": False,
        "FEATURE_FLAG_CALENDAR": False,
        "FEATURE_FLAG_LABEL_PRINTER": label_printer,
        "FEATURE_FLAG_STOCK_PRICE_TRACKING": True,
        "FEATURE_FLAG_STOCK_LOCATION_TRACKING": True,
        "FEATURE_FLAG_STOCK_BEST_BEFORE_DATE_TRACKING": True,
        "FEATURE_FLAG_STOCK_PRODUCT_OPENED_TRACKING": True,
        "FEATURE_FLAG_STOCK_PRODUCT_FREEZING": True,
        "FEATURE_FLAG_STOCK_BEST_BEFORE_DATE_FIELD_NUMBER_PAD": True,
        "FEATURE_FLAG_SHOPPINGLIST_MULTIPLE_LISTS": False,
        "FEATURE_FLAG_CHORES_ASSIGNMENTS": False,
        "FEATURE_FLAG_THERMAL_PRINTER": False,
        "FEATURE_FLAG_DISABLE_BROWSER_BARCODE_CAMERA_SCANNING": False,
        "FEATURE_FLAG_AUTO_TORCH_ON_WITH_CAMERA": True,
    }


def system_config(
    *, base_url: str, currency: str, locale: str, label_printer: bool = False
) -> dict[str, Any]:
    """``GET /system/config``: the settings Grocy clients read."""
    return {
        "USER_USERNAME": "kitchen",
        "BASE_PATH": "/grocy",
        "BASE_URL": base_url,
        "MODE": "production",
        "DEFAULT_LOCALE": locale,
        "LOCALE": locale,
        "CURRENCY": currency,
        "CALENDAR_FIRST_DAY_OF_WEEK": "1",
        "CALENDAR_SHOW_WEEK_OF_YEAR": True,
        "MEAL_PLAN_FIRST_DAY_OF_WEEK": "1",
        "STOCK_BARCODE_LOOKUP_PLUGIN": "",
        "DISABLE_URL_REWRITING": False,
        "ENTRY_PAGE": "stock",
        "DISABLE_AUTH": False,
        "AUTH_CLASS": "Grocy\\Middleware\\DefaultAuthMiddleware",
        "GROCYCODE_TYPE": "2D",
        # The printlabel endpoints call the webhook themselves (Grocy's server-side mode).
        "LABEL_PRINTER_RUN_SERVER": label_printer,
        **feature_flags(label_printer=label_printer),
    }


#: Entities that exist in Grocy but not here: listed empty, as Grocy lists them with the
#: feature off and nothing entered.
EMPTY_ENTITIES: Final = frozenset(
    {
        "chores",
        "chores_log",
        "batteries",
        "battery_charge_cycles",
        "tasks",
        "task_categories",
        "recipes",
        "recipes_pos",
        "recipes_nestings",
        "meal_plan",
        "meal_plan_sections",
        "equipment",
        "product_groups",
        "shopping_locations",
        "quantity_unit_conversions",
        "userfields",
        "userentities",
        "userobjects",
    }
)
#: Entities served from our data.
ENTITIES: Final = frozenset(
    {"products", "product_barcodes", "locations", "quantity_units", "shopping_list",
     "shopping_lists", "stock"}
)  # fmt: skip
