"""A label's picture: a 1-bit image at the printer's resolution, as PNG or as a one-page PDF.

Black and white only (thermal label printers print dots, not greys), drawn with the DejaVu
fonts the package ships, so a label looks the same on every machine and can be compared
with a golden PNG. The DataMatrix comes from pystrich (pure Python: it installs on a Pi
with no system library); its modules are whole printer dots, never scaled.
"""

from __future__ import annotations

import io
import threading
from functools import cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont
from pystrich.datamatrix import DataMatrixData, DataMatrixEncoder

from appliance.hardware.screens import Font, shorten, text_width, wrap
from appliance.labels.content import LabelContent

#: Labels are drawn in worker threads, one at a time, with font objects of their own (the
#: display draws with its own on another thread; a FreeType face is not shared across them).
RENDER_LOCK = threading.Lock()

#: A DataMatrix needs a light border of at least one module; two read more reliably.
QUIET_MODULES = 2


@cache
def font(size: int, bold: bool = False) -> Font:
    """The shipped DejaVu font in ``size`` (the same files as the display's)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = resources.files("appliance") / "assets" / "fonts" / name
    with resources.as_file(path) as file:
        return ImageFont.truetype(str(file), size)


def datamatrix(text: str, module_px: int) -> Image.Image:
    """``text`` as a DataMatrix (ECC 200), ``module_px`` dots per module, with its quiet zone."""
    encoder = DataMatrixEncoder(DataMatrixData(text, encoding="ascii"), quiet_zone=QUIET_MODULES)
    return encoder.get_pilimage(module_px).convert("1")


def datamatrix_modules(text: str) -> int:
    """The side of ``text``'s DataMatrix in modules, quiet zone included."""
    encoder = DataMatrixEncoder(DataMatrixData(text, encoding="ascii"), quiet_zone=QUIET_MODULES)
    return len(encoder.init_renderer().matrix)


def render_label(content: LabelContent, width: int, height: int, dpi: int) -> Image.Image:
    """Draw ``content`` on a ``width`` x ``height`` dot label (``dpi`` sets the margins).

    Landscape (wider than high): the DataMatrix on the left, as high as the label allows,
    the text beside it. Portrait: the DataMatrix on top, the text below.
    """
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no grey edges: the printer has none
    margin = max(2, round(dpi * 1.5 / 25.4))  # 1.5 mm
    modules = datamatrix_modules(content.code)
    landscape = width >= height
    room = (height if landscape else width) - 2 * margin
    if not landscape:
        room = min(room, (height - 2 * margin) // 2)
    module_px = max(1, room // modules)
    symbol = datamatrix(content.code, module_px)
    side = symbol.width
    if landscape:
        image.paste(symbol, (margin - module_px * QUIET_MODULES // 2, (height - side) // 2))
        box = (margin + side, margin, width - margin, height - margin)
    else:
        image.paste(symbol, ((width - side) // 2, margin))
        box = (margin, margin + side, width - margin, height - margin)
    _draw_text(draw, content, box)
    return image


def _draw_text(
    draw: ImageDraw.ImageDraw, content: LabelContent, box: tuple[int, int, int, int]
) -> None:
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    if width < 20 or height < 20:
        return  # no room for text: the code alone still works
    # Sizes in proportion to the text box (its height, unless it is narrow): name, details,
    # the code's small line.
    basis = min(height, int(width / 1.2))
    name_size = max(8, basis // 6)
    detail_size = max(7, basis // 9)
    code_size = max(6, min(basis // 14, width // 20))
    lines: list[tuple[str, Font]] = []
    name_font, name_lines = _fit_name(content.product, width, name_size, max(8, basis // 11))
    for line in name_lines:
        lines.append((line, name_font))
    # The dates are what people read: smaller type rather than a cut-off date.
    while detail_size > 7 and any(
        text_width(line, font(detail_size, bold=True)) > width
        for line in (content.best_before, content.since)
        if line
    ):
        detail_size -= 1
    detail = font(detail_size)
    bold_detail = font(detail_size, bold=True)
    lines.append((content.amount, detail))
    if content.best_before:
        lines.append((content.best_before, bold_detail))
    if content.since:
        lines.append((content.since, detail))
    if content.note:
        lines.append((content.note, detail))
    code_font = font(code_size)
    code_height = _line_height(code_font)
    y = top
    for text, face in lines:
        step = _line_height(face)
        if y + step > bottom - code_height:
            break  # what does not fit is left out, from the note upwards
        draw.text((left, y), shorten(text, face, width), font=face, fill=0)
        y += step
    code = content.code
    if text_width(code, code_font) > width:
        code = shorten(code, code_font, width)
    draw.text((left, bottom - code_height), code, font=code_font, fill=0)


def _fit_name(name: str, width: int, largest: int, smallest: int) -> tuple[Font, list[str]]:
    """The largest bold size at which ``name`` fits two lines whole (else the smallest)."""
    words = len(name.split())
    for size in range(largest, smallest - 1, -1):
        face = font(size, bold=True)
        lines = wrap(name, face, width, max_lines=2)
        if sum(len(line.split()) for line in lines) == words and not lines[-1].endswith("…"):
            return face, lines
    face = font(smallest, bold=True)
    return face, wrap(name, face, width, max_lines=2)


def _line_height(face: Font) -> int:
    ascent, descent = face.getmetrics()
    return int((ascent + descent) * 1.08)


def png_bytes(image: Image.Image, dpi: int) -> bytes:
    """The label as a PNG that names its resolution (so it prints at its size)."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue()


def pdf_bytes(image: Image.Image, dpi: int) -> bytes:
    """The label as a one-page PDF of exactly the label's size."""
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=float(dpi))
    return buffer.getvalue()
