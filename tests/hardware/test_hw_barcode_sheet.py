"""The printable mode barcode sheet, checked by decoding it with zxing-cpp."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from appliance.barcode_sheet import render_mode_sheet
from appliance.core.barcode import mode_barcode_text
from appliance.core.modes import ALL_MODES

EXPECTED = {mode_barcode_text(mode) for mode in ALL_MODES}


def decoded(image: Image.Image) -> set[str]:
    return {r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)}


def test_png_sheet_scans_to_the_mode_barcodes(tmp_path: Path) -> None:
    out = render_mode_sheet(tmp_path / "modes.png")
    image = Image.open(out)
    assert image.size == (1654, 2339)  # A4 at 200 dpi
    assert decoded(image) == EXPECTED


def test_pdf_sheet(tmp_path: Path) -> None:
    out = render_mode_sheet(tmp_path / "modes.pdf")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"/MediaBox" in data
    assert 10_000 < len(data) < 2_000_000


def test_svg_sheet_bars_scan(tmp_path: Path) -> None:
    out = render_mode_sheet(tmp_path / "modes.svg")
    root = ET.parse(out).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    texts = {t.text for t in root.iterfind("s:text", ns)}
    assert texts >= EXPECTED and "CONSUME" in texts
    # Draw the SVG's bars at 10 px/mm and let zxing read them.
    scale = 10
    image = Image.new("L", (210 * scale, 297 * scale), 255)
    draw = ImageDraw.Draw(image)
    for rect in root.iterfind("s:rect", ns):
        if rect.get("fill") != "#000":
            continue
        x, y, w, h = (float(rect.get(k, 0)) * scale for k in ("x", "y", "width", "height"))
        draw.rectangle((round(x), round(y), round(x + w) - 1, round(y + h)), fill=0)
    assert decoded(image) == EXPECTED


def test_custom_texts_and_bad_suffix(tmp_path: Path) -> None:
    out = render_mode_sheet(tmp_path / "x.png", text_for=lambda m: f"TEST-{m.value}")
    assert {t for t in decoded(Image.open(out))} == {f"TEST-{m.value}" for m in ALL_MODES}
    with pytest.raises(ValueError, match=re.escape(".pdf, .svg or .png")):
        render_mode_sheet(tmp_path / "modes.jpg")
