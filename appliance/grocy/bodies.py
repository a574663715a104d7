"""Request bodies and query parameters of the Grocy API, as Grocy's clients send them.

Lenient where Grocy is: unknown members are ignored (clients send fields we have no use
for, such as ``shopping_location_id``), numbers may come as strings. Limits are ours.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from appliance.core.grocy_ids import MAX_INT

GrocyId = Annotated[int, Field(ge=1, le=MAX_INT)]
Amount = Annotated[float, Field(gt=0, le=1_000_000)]
Count = Annotated[float, Field(ge=0, le=1_000_000)]
Note = Annotated[str, Field(max_length=500)]
StockId = Annotated[str, Field(min_length=1, max_length=64)]


class GrocyBody(BaseModel):
    """Members we do not know are ignored, as Grocy ignores them."""

    # Built at first use: most kitchens never call the Grocy API (idle RSS budget).
    model_config = ConfigDict(extra="ignore", defer_build=True)


class AddIn(GrocyBody):
    """``POST /stock/products/{id}/add``."""

    amount: Amount
    best_before_date: date | None = None
    price: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    location_id: GrocyId | None = None
    note: Note | None = None
    transaction_type: str | None = None


class ConsumeIn(GrocyBody):
    """``POST /stock/products/{id}/consume``."""

    amount: Amount
    spoiled: bool = False
    stock_entry_id: StockId | None = None
    location_id: GrocyId | None = None
    transaction_type: str | None = None
    allow_subproduct_substitution: bool = False
    exact_amount: bool = False


class OpenIn(GrocyBody):
    """``POST /stock/products/{id}/open``."""

    amount: Amount = 1
    stock_entry_id: StockId | None = None
    allow_subproduct_substitution: bool = False


class InventoryIn(GrocyBody):
    """``POST /stock/products/{id}/inventory``."""

    new_amount: Count
    best_before_date: date | None = None
    location_id: GrocyId | None = None
    price: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    note: Note | None = None


class ShoppingProductIn(GrocyBody):
    """``POST /stock/shoppinglist/add-product`` and ``remove-product``."""

    product_id: GrocyId
    list_id: GrocyId | None = 1  # null: list 1, as Grocy takes it
    product_amount: Amount | None = 1
    note: Note | None = None
    qu_id: GrocyId | None = None


class ShoppingListIn(GrocyBody):
    """``POST /stock/shoppinglist/clear`` and ``add-missing-products``."""

    list_id: GrocyId | None = 1
    done_only: bool = False


class ShoppingItemIn(GrocyBody):
    """``POST /objects/shopping_list``: a product or a note (free text) on the list."""

    product_id: GrocyId | None = None
    note: Note | None = None
    amount: Amount = 1
    shopping_list_id: GrocyId | None = 1
    done: int = Field(0, ge=0, le=1)


class ShoppingItemPatch(GrocyBody):
    """``PUT /objects/shopping_list/{id}``: what the Grocy app changes on an entry."""

    amount: Amount | None = None
    note: Note | None = None
    done: int | None = Field(None, ge=0, le=1)


class VolatileQuery(GrocyBody):
    """``GET /stock/volatile``."""

    due_soon_days: Annotated[int, Field(ge=0, le=3650)] | None = None


class ObjectsQuery(GrocyBody):
    """``GET /objects/{entity}`` (``query[]`` is read separately: it may repeat)."""

    order: Annotated[str, Field(max_length=64)] | None = None
    limit: Annotated[str, Field(max_length=9, pattern=r"^[0-9]*$")] | None = None
    offset: Annotated[str, Field(max_length=9, pattern=r"^[0-9]*$")] | None = None


class ProductIn(GrocyBody):
    """``POST /objects/products``: what Barcode Buddy and the Grocy app send for a new one."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=2000)] | None = None
    location_id: GrocyId | None = None
    qu_id_stock: GrocyId | None = None
    min_stock_amount: Count | None = None
    default_best_before_days: Annotated[int, Field(ge=-1, le=36_500)] | None = None
    default_best_before_days_after_open: Annotated[int, Field(ge=0, le=36_500)] | None = None
    default_best_before_days_after_freezing: Annotated[int, Field(ge=0, le=36_500)] | None = None

    def product_fields(self, unit: str) -> dict[str, Any]:
        """Our product's fields (those set) for this body, its unit already resolved; the
        same on a node and on central."""
        days = self.default_best_before_days
        fields: dict[str, Any] = {
            "name": self.name,
            "unit": unit,
            "notes": self.description,
            "min_stock": self.min_stock_amount or None,
            # Grocy's -1 is "never overdue": no shelf life of ours.
            "default_best_before_days": days if days and days > 0 else None,
            "default_best_before_days_after_opening": self.default_best_before_days_after_open
            or None,
            "default_best_before_days_after_freezing": (
                self.default_best_before_days_after_freezing or None
            ),
        }
        return {k: v for k, v in fields.items() if v is not None}


class BarcodeIn(GrocyBody):
    """``POST /objects/product_barcodes``: one more barcode of a product."""

    product_id: GrocyId
    barcode: Annotated[str, Field(min_length=1, max_length=200)]
