"""A printable A4 sheet of the mode barcodes (``kitchen-node barcodes --out FILE``).

Each mode gets a Code 128 symbol with its name and what it does beneath. PNG and PDF are
drawn with Pillow at 200 dpi (Pillow writes the PDF); SVG is written by hand as vectors, so
it prints sharply at any size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from appliance.core.modes import ALL_MODES, ScanMode

if TYPE_CHECKING:
    from PIL.Image import Image

PAGE_MM = (210.0, 297.0)  # A4
DPI = 200
MODULE_MM = 0.381  # narrowest bar (3 px at 200 dpi): keeps a 10-module quiet zone per cell
BAR_HEIGHT_MM = 18.0
COLUMNS, MARGIN_MM, CELL_HEIGHT_MM = 2, 15.0, 80.0

DESCRIPTIONS = {
    ScanMode.ADD: "Add what you bought",
    ScanMode.CONSUME: "Take out what you use up",
    ScanMode.LOOKUP: "Show stock, change nothing",
    ScanMode.OPEN: "Mark a package as opened",
    ScanMode.SPOILED: "Throw away, count as waste",
    ScanMode.SHOPPING: "Put on the shopping list",
}

TextFor = Callable[[ScanMode], str]


@dataclass(frozen=True)
class _Entry:
    mode: ScanMode
    text: str
    bars: str  # "1" bar, "0" space, one character per module


def _entries(text_for: TextFor | None) -> list[_Entry]:
    from pystrich.code128 import Code128Encoder

    if text_for is None:
        # Imported here: the mode barcode grammar belongs to the shared core.
        from appliance.core.barcode import mode_barcode_text

        text_for = mode_barcode_text
    entries = []
    for mode in ALL_MODES:
        text = text_for(mode)
        entries.append(_Entry(mode, text, Code128Encoder(text).bars))
    return entries


def _cell_origin(index: int) -> tuple[float, float]:
    """Top-left corner (mm) of the cell for the ``index``-th mode."""
    cell_w = (PAGE_MM[0] - 2 * MARGIN_MM) / COLUMNS
    row, col = divmod(index, COLUMNS)
    return MARGIN_MM + col * cell_w, MARGIN_MM + 20 + row * CELL_HEIGHT_MM


def _bar_runs(bars: str) -> list[tuple[int, int]]:
    """(start module, width in modules) of each dark bar."""
    runs, start = [], None
    for i, module in enumerate(bars + "0"):
        if module == "1" and start is None:
            start = i
        elif module == "0" and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def _svg(entries: list[_Entry]) -> str:
    w, h = PAGE_MM
    cell_w = (w - 2 * MARGIN_MM) / COLUMNS
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" '
        f'viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Verdana, sans-serif">',
        f'<rect width="{w}" height="{h}" fill="#fff"/>',
        f'<text x="{MARGIN_MM}" y="{MARGIN_MM + 6}" font-size="8" font-weight="bold">'
        "Kitchen scan modes</text>",
        f'<text x="{MARGIN_MM}" y="{MARGIN_MM + 12}" font-size="3.5">'
        "Scan one of these to switch the station, then scan your products.</text>",
    ]
    for index, entry in enumerate(entries):
        x0, y0 = _cell_origin(index)
        bar_w = len(entry.bars) * MODULE_MM
        left = x0 + (cell_w - bar_w) / 2
        cx = x0 + cell_w / 2
        parts.append(
            f'<text x="{cx:.2f}" y="{y0 + 8:.2f}" font-size="7" font-weight="bold" '
            f'text-anchor="middle">{escape(entry.mode.value.upper())}</text>'
        )
        for start, width in _bar_runs(entry.bars):
            parts.append(
                f'<rect x="{left + start * MODULE_MM:.2f}" y="{y0 + 12:.2f}" '
                f'width="{width * MODULE_MM:.2f}" height="{BAR_HEIGHT_MM}" fill="#000"/>'
            )
        for dy, size, text in (
            (BAR_HEIGHT_MM + 17, 3.2, entry.text),
            (BAR_HEIGHT_MM + 23, 4, DESCRIPTIONS.get(entry.mode, "")),
        ):
            parts.append(
                f'<text x="{cx:.2f}" y="{y0 + dy:.2f}" font-size="{size}" '
                f'text-anchor="middle">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _raster(entries: list[_Entry]) -> Image:
    from PIL import Image, ImageDraw

    from appliance.hardware.screens import font

    def px(mm: float) -> int:
        return round(mm / 25.4 * DPI)

    page = Image.new("L", (px(PAGE_MM[0]), px(PAGE_MM[1])), 255)
    draw = ImageDraw.Draw(page)
    cell_w = (PAGE_MM[0] - 2 * MARGIN_MM) / COLUMNS
    module = px(MODULE_MM)  # whole pixels per module keep every bar the same width
    draw.text((px(MARGIN_MM), px(MARGIN_MM)), "Kitchen scan modes", font=font(px(8), True))
    draw.text(
        (px(MARGIN_MM), px(MARGIN_MM + 9)),
        "Scan one of these to switch the station, then scan your products.",
        font=font(px(3.5)),
    )
    for index, entry in enumerate(entries):
        x0, y0 = _cell_origin(index)
        cx = px(x0 + cell_w / 2)
        left = cx - len(entry.bars) * module // 2
        draw.text((cx, px(y0 + 8)), entry.mode.value.upper(), font=font(px(7), True), anchor="ms")
        top, bottom = px(y0 + 12), px(y0 + 12 + BAR_HEIGHT_MM)
        for start, width in _bar_runs(entry.bars):
            x = left + start * module
            draw.rectangle((x, top, x + width * module - 1, bottom), fill=0)
        draw.text((cx, px(y0 + BAR_HEIGHT_MM + 17)), entry.text, font=font(px(3.2)), anchor="ms")
        draw.text(
            (cx, px(y0 + BAR_HEIGHT_MM + 23)),
            DESCRIPTIONS.get(entry.mode, ""),
            font=font(px(4)),
            anchor="ms",
        )
    return page


def render_mode_sheet(out: Path, text_for: TextFor | None = None) -> Path:
    """Write the mode barcode sheet to ``out``: PDF, SVG or PNG, chosen by the suffix.

    ``text_for`` maps a mode to the text its barcode carries; by default the shared core's
    ``mode_barcode_text``, which is what the scanner parses.
    """
    suffix = out.suffix.lower()
    if suffix not in (".pdf", ".svg", ".png"):
        raise ValueError(f"{out}: use a .pdf, .svg or .png file name")
    entries = _entries(text_for)
    if suffix == ".svg":
        out.write_text(_svg(entries), encoding="utf-8")
    else:
        page = _raster(entries)
        if suffix == ".pdf":
            page.save(out, format="PDF", resolution=DPI)
        else:
            page.save(out, format="PNG", dpi=(DPI, DPI))
    return out
