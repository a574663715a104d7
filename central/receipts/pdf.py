"""PDF receipts: words of the text layer with their positions (no OCR), or pages as images.

E-receipts (REWE eBon and the like) carry a text layer: reading it is exact and takes a
fraction of a second. A scanned PDF has none; its pages are rendered and go through OCR.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from central.receipts.draft import ReadFailed
from central.receipts.layout import Row, group_rows

if TYPE_CHECKING:
    from PIL import Image

# A page with fewer characters than this is taken as having no text layer (a scan).
MIN_TEXT_CHARS = 20
# Render scans at this many pixels per PDF point (about 150 dpi): enough for till print.
RENDER_SCALE = 150 / 72


def _open(data: bytes):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise ReadFailed("the PDF is encrypted or password-protected") from exc
        raise ReadFailed(f"the PDF is damaged and cannot be read ({exc})") from exc


def _page_words(textpage, height: float) -> list[tuple[list[tuple[float, float]], str]]:  # type: ignore[no-untyped-def]
    """The page's words from its characters: a space or a gap wider than half a letter ends a
    word. Character boxes are PDFium's loose ones (font ascent to descent), so a comma and the
    digits around it share a line."""
    boxes: list[tuple[list[tuple[float, float]], str]] = []
    text = ""
    left = bottom = right = top = 0.0

    def flush() -> None:
        if text.strip():
            y0, y1 = height - top, height - bottom  # PDF y grows upwards
            boxes.append(([(left, y0), (right, y0), (right, y1), (left, y1)], text))

    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if not ch or ch.isspace():
            flush()
            text = ""
            continue
        x0, b, x1, t = textpage.get_charbox(i, loose=True)
        size = max(t - b, 1e-6)
        same_line = text and abs((b + t) / 2 - (bottom + top) / 2) < size / 2
        if text and same_line and x0 - right < size / 2:
            text += ch
            right, bottom, top = max(right, x1), min(bottom, b), max(top, t)
            continue
        flush()
        text, left, bottom, right, top = ch, x0, b, x1, t
    flush()
    return boxes


def text_rows(data: bytes) -> list[list[Row]] | None:
    """The rows of each page's text layer, or None when the PDF has no text layer."""
    document = _open(data)
    pages: list[list[Row]] = []
    chars = 0
    try:
        for page in document:
            textpage = page.get_textpage()
            chars += textpage.count_chars()
            pages.append(group_rows(_page_words(textpage, page.get_height())))
            textpage.close()
            page.close()
    finally:
        document.close()
    return pages if chars >= MIN_TEXT_CHARS else None


def page_images(data: bytes) -> list[Image.Image]:
    """Each page rendered as an RGB image, for OCR."""
    document = _open(data)
    try:
        images = []
        for page in document:
            bitmap = page.render(scale=RENDER_SCALE)
            images.append(bitmap.to_pil().convert("RGB"))
            page.close()
        return images
    finally:
        document.close()
