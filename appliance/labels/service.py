"""Labels of lots: their content read from the store, their pictures, their printing."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Literal

from appliance.labels import webhook
from appliance.labels.config import LabelsConfig
from appliance.labels.content import LabelContent, label_content
from appliance.labels.render import pdf_bytes, png_bytes, render_label
from appliance.services.errors import Conflict, NotFound
from appliance.store import Store, queries

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
        return label_content(lot, product, self.language), lot, product

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
        if not self.printer:
            raise Conflict(
                "no label printer is configured ([labels] webhook): download the label's "
                "PNG or PDF instead",
                reason="no_printer",
            )
        content, lot, product = await self.content(lot_id)
        payload = webhook.grocy_payload(content, lot, product, self.config, self.language)
        await webhook.send(self.config, payload)
        return payload


def _draw(content: LabelContent, width: int, height: int, dpi: int, kind: Format) -> bytes:
    image = render_label(content, width, height, dpi)
    return png_bytes(image, dpi) if kind == "png" else pdf_bytes(image, dpi)
