"""Labels of lots: their content read from the store, their pictures, their printing."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal

from appliance.core import grocy_ids
from appliance.labels import webhook
from appliance.labels.config import LabelsConfig
from appliance.labels.content import LabelContent, label_content
from appliance.services.errors import Conflict, NotFound
from appliance.store import Store, queries
from appliance.store.sql import fetch_all

log = logging.getLogger(__name__)

Format = Literal["png", "pdf"]


@dataclass(frozen=True, slots=True)
class Size:
    """A label's size in millimetres and the printer's resolution."""

    width_mm: float
    height_mm: float
    dpi: int

    @property
    def pixels(self) -> tuple[int, int]:
        """Width and height in printer dots."""
        return (
            round(self.width_mm / 25.4 * self.dpi),
            round(self.height_mm / 25.4 * self.dpi),
        )


class Labels:
    """What the label routes and the scan box's print button ask for."""

    def __init__(self, store: Store, config: LabelsConfig, language: str) -> None:
        self.store = store
        self.config = config
        self.language = language

    @property
    def printer(self) -> bool:
        """Whether a label printer (webhook) is configured."""
        return self.config.webhook is not None

    @property
    def default_size(self) -> Size:
        """The configured label size."""
        return Size(self.config.width_mm, self.config.height_mm, self.config.dpi)

    async def content(self, lot_id: str) -> tuple[LabelContent, dict[str, Any], dict[str, Any]]:
        """The label of a lot, the lot and its product; NotFound for an unknown lot."""
        reader = self.store.reader
        lot = await queries.lot(reader, lot_id)
        if lot is None:
            raise NotFound(f"lot {lot_id} does not exist")
        product = await queries.product(reader, str(lot["product_id"])) or {}
        if product.get("merged_into"):
            product = await queries.product(reader, str(product["merged_into"])) or product
        code = None
        if self.config.code == "grocy":
            code = await self.grocycode(lot)
        return label_content(lot, product, self.language, code=code), lot, product

    async def grocy_ints(self, lot: dict[str, Any]) -> dict[str, Any]:
        """Grocy's ids of the lot (its entry), its product and location, from the index."""
        keys: dict[grocy_ids.Kind, str] = {"lot": str(lot["id"]), "product": str(lot["product_id"])}
        if lot.get("location_id"):
            keys["location"] = str(lot["location_id"])
        rows = await fetch_all(
            self.store.reader,
            "SELECT kind, int_id FROM grocy_ids WHERE (kind, key) IN (VALUES "
            + ",".join("(?, ?)" for _ in keys)
            + ")",
            tuple(part for item in keys.items() for part in item),
        )
        found = {str(kind): int(value) for kind, value in rows}
        # Not indexed yet (cannot happen after a commit; kept safe): the first candidate.
        ints = {
            kind: found.get(kind) or grocy_ids.first_int(kind, key) for kind, key in keys.items()
        }
        return {
            "entry_id": ints["lot"],
            "product_id": ints["product"],
            "location_id": ints.get("location"),
            "stock_id": grocy_ids.stock_id(str(lot["id"])),
        }

    async def grocycode(self, lot: dict[str, Any]) -> str:
        """The Grocy code of one lot: ``grcy:p:{product}:{stock_id}``."""
        ints = await self.grocy_ints(lot)
        return grocy_ids.grocycode(ints["product_id"], ints["stock_id"])

    async def picture(self, lot_id: str, kind: Format, size: Size | None = None) -> bytes:
        """The lot's label as PNG or PDF bytes (drawn off the event loop)."""
        content, _, _ = await self.content(lot_id)
        size = size or self.default_size
        width, height = size.pixels
        return await asyncio.to_thread(_draw, content, width, height, size.dpi, kind)

    async def print(self, lot_id: str) -> dict[str, Any]:
        """Send the lot's label to the printer's webhook; return what was sent.

        ``Conflict`` when no printer is configured; ``webhook.PrinterError`` when it fails.
        """
        self._need_printer()
        content, lot, product = await self.content(lot_id)
        ids = await self.grocy_ints(lot)
        payload = webhook.grocy_payload(
            content,
            lot,
            product,
            self.config,
            self.language,
            ids=ids,
            grocycode=grocy_ids.grocycode(ids["product_id"], ids["stock_id"]),
        )
        await webhook.send(self.config, payload)
        return payload

    async def print_product(self, product_id: str) -> dict[str, Any]:
        """Send a product's label (Grocy's ``grcy:p:{id}``, no lot) to the printer's webhook.

        The same errors as ``print``; ``NotFound`` for an unknown product.
        """
        self._need_printer()
        product = await queries.product(self.store.reader, product_id)
        if product is None:
            raise NotFound(f"product {product_id} does not exist")
        rows = await fetch_all(
            self.store.reader,
            "SELECT int_id FROM grocy_ids WHERE kind = 'product' AND key = ?",
            (product_id,),
        )
        product_int = int(rows[0][0]) if rows else grocy_ids.first_int("product", product_id)
        payload = webhook.grocy_product_payload(product, product_int, self.config)
        await webhook.send(self.config, payload)
        return payload

    def _need_printer(self) -> None:
        if not self.printer:
            raise Conflict(
                "no label printer is configured ([labels] webhook): download the label's "
                "PNG or PDF instead",
                reason="no_printer",
            )


def _draw(content: LabelContent, width: int, height: int, dpi: int, kind: Format) -> bytes:
    # Imported on first use: Pillow and pystrich cost a node that never prints ~5 MB.
    from appliance.labels.render import RENDER_LOCK, pdf_bytes, png_bytes, render_label

    with RENDER_LOCK:
        image = render_label(content, width, height, dpi)
        return png_bytes(image, dpi) if kind == "png" else pdf_bytes(image, dpi)
