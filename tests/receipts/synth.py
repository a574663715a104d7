"""Synthetic receipts for the tests: rendered with the shipped DejaVu font, as photos or PDFs.

``python -m tests.receipts.synth`` rewrites the bundled health sample
(``central/receipts/assets/health-sample.png``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[2]
FONT = ROOT / "appliance" / "assets" / "fonts" / "DejaVuSans.ttf"
HEALTH_SAMPLE = ROOT / "central" / "receipts" / "assets" / "health-sample.png"

# (left text, right text): one printed row of a till receipt.
Layout = list[tuple[str, str]]

HEALTH_LAYOUT: Layout = [
    ("REWE", ""),
    ("EUR", ""),
    ("MILCH 1L", "1,29 B"),
    ("BROT", "2,19 B"),
    ("BUTTER", "0,99 B"),
    ("SUMME EUR", "4,47"),
]

REWE_LAYOUT: Layout = [
    ("REWE Markt GmbH", ""),
    ("Musterstr. 1, 12345 Musterstadt", ""),
    ("EUR", ""),
    ("BIO VOLLMILCH", "1,19 B"),
    ("JOGHURT NATUR", "1,98 B"),
    ("  2 Stk x 0,99", ""),
    ("BANANEN", "1,34 B"),
    ("  0,670 kg x 1,99 EUR/kg", ""),
    ("LEERGUT", "-0,25 A"),
    ("SUMME EUR", "4,26"),
    ("Geg. BAR EUR", "5,00"),
    ("Rückgeld EUR", "0,74"),
    ("04.11.2026 18:12 Bon-Nr.: 1234", ""),
]

ALDI_LAYOUT: Layout = [
    ("ALDI SÜD", ""),
    ("Hauptstr. 5, 80331 München", ""),
    ("BUTTER", "2,29 € A"),
    ("   3 x 0,89", ""),
    ("NUDELN", "2,67 € A"),
    ("KAFFEE", "5,99 € A"),
    ("PFAND", "0,25 € B"),
    ("ZU ZAHLEN", "11,20 €"),
    ("BAR", "20,00 €"),
    ("12.10.2026 09:41", ""),
]


@dataclass(frozen=True)
class Style:
    """How a receipt is printed and photographed."""

    width: int = 560
    size: int = 24
    margin: int = 30
    spacing: float = 1.5


def render(layout: Layout, style: Style | None = None) -> Image.Image:
    """A clean till print of the rows: left text at the margin, right text flush right."""
    style = style or Style()
    font = ImageFont.truetype(str(FONT), style.size)
    step = int(style.size * style.spacing)
    height = style.margin * 2 + step * len(layout)
    image = Image.new("RGB", (style.width, height), "white")
    draw = ImageDraw.Draw(image)
    y = style.margin
    for left, right in layout:
        if left:
            draw.text((style.margin, y), left, fill="black", font=font)
        if right:
            w = draw.textlength(right, font=font)
            draw.text((style.width - style.margin - w, y), right, fill="black", font=font)
        y += step
    return image


def photo(image: Image.Image, *, angle: float = 0.0, blur: float = 0.0) -> Image.Image:
    """The print as a photo: on a grey table, turned by ``angle`` degrees, slightly blurred."""
    pad = 40
    table = Image.new("RGB", (image.width + 2 * pad, image.height + 2 * pad), (120, 120, 115))
    table.paste(image, (pad, pad))
    if angle:
        table = table.rotate(angle, expand=True, fillcolor=(120, 120, 115), resample=Image.BICUBIC)
    if blur:
        table = table.filter(ImageFilter.GaussianBlur(blur))
    return table


def bend(image: Image.Image, amount: int) -> Image.Image:
    """A receipt that does not lie flat: each column shifted down by up to ``amount`` pixels,
    most in the middle (a bulge), as paper curls across its width."""
    import numpy as np

    pixels = np.asarray(image)
    height, width = pixels.shape[:2]
    margin = abs(amount) + 1
    out = np.full((height + 2 * margin, width, 3), 255, np.uint8)
    for x in range(width):
        dy = margin + round(amount * math.sin(math.pi * x / width))
        out[dy : dy + height, x] = pixels[:, x]
    return Image.fromarray(out)


def split(image: Image.Image, parts: int, overlap: int) -> list[Image.Image]:
    """Cut a long print into ``parts`` photos from top to bottom that overlap by ``overlap`` px."""
    step = (image.height + overlap * (parts - 1)) // parts
    pieces = []
    top = 0
    for n in range(parts):
        bottom = image.height if n == parts - 1 else top + step
        pieces.append(image.crop((0, top, image.width, bottom)))
        top = bottom - overlap
    return pieces


def encode(image: Image.Image, kind: str = "JPEG", **params: object) -> bytes:
    """The image as file bytes."""
    out = io.BytesIO()
    image.save(out, kind, **params)
    return out.getvalue()


def text_pdf(lines: list[str], *, pages: int = 1) -> bytes:
    """A receipt PDF with a text layer, in a monospaced font like a REWE eBon."""
    from fpdf import FPDF

    pdf = FPDF(format=(80, 200), unit="mm")
    pdf.set_auto_page_break(False)
    for _ in range(pages):
        pdf.add_page()
        pdf.set_font("Courier", size=8)
        for n, line in enumerate(lines):
            pdf.text(4, 10 + n * 3.6, line)
    return bytes(pdf.output())


def image_pdf(image: Image.Image) -> bytes:
    """A scanned receipt: a PDF page that is only an image, no text layer."""
    from fpdf import FPDF

    pdf = FPDF(format=(80, 80 * image.height / image.width), unit="mm")
    pdf.add_page()
    pdf.image(image, x=0, y=0, w=80)
    return bytes(pdf.output())


def main() -> None:
    """Write the health sample: small, grey-scale, a few KB."""
    image = render(HEALTH_LAYOUT, Style(width=360, size=20)).convert("L")
    HEALTH_SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    image.save(HEALTH_SAMPLE, "PNG", optimize=True)
    print(f"{HEALTH_SAMPLE}: {HEALTH_SAMPLE.stat().st_size} bytes")


if __name__ == "__main__":
    main()
