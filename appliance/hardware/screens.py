"""What the 128x64 OLED shows: a pure function from a ``DisplayState`` to a 1-bit image.

Nothing here touches a device or a clock, so each screen can be compared with a golden PNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

Screen = Literal["idle", "mode", "result", "unknown", "error", "pairing", "disconnected"]
Font = ImageFont.FreeTypeFont

ELLIPSIS = "…"

_MODE_HINTS = {
    "add": "scan purchases",
    "consume": "scan what you use",
    "lookup": "scan to look up",
    "open": "scan what you open",
    "spoiled": "scan to throw away",
    "shopping": "scan to put on list",
}

_OUTCOME_TITLES = {
    "added": "ADDED",
    "consumed": "USED",
    "opened": "OPENED",
    "spoiled": "THROWN AWAY",
    "listed": "ON THE LIST",
    "looked_up": "IN STOCK",
    "undone": "UNDONE",
}


@dataclass(frozen=True, slots=True)
class DisplayState:
    """Everything a screen may show; the display controller picks ``screen``."""

    screen: Screen = "idle"
    station: str = "kitchen"
    mode: str = "add"
    outcome: str = ""
    product: str = ""
    product_id: str = ""  # so a name that arrives later (Open Food Facts) can replace it
    detail: str = ""  # "3 pcs in stock", the amount line
    best_before: str = ""
    code: str = ""
    message: str = ""
    pairing_code: str = ""
    pairing_minutes: int = 0
    pairing_url: str = ""  # shown as a QR code beside the digits when it fits
    sync_connected: bool | None = None  # None: this node does not sync
    outbox: int = 0
    scanner_connected: bool = True
    expiring: tuple[str, ...] = ()


@cache
def font(size: int, bold: bool = False) -> Font:
    """Load the shipped DejaVu font (Pillow's built-in one changes between versions)."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = resources.files("appliance") / "assets" / "fonts" / name
    with resources.as_file(path) as file:
        return ImageFont.truetype(str(file), size)


def text_width(text: str, face: Font) -> int:
    """Width of ``text`` in pixels."""
    return int(face.getlength(text))


def shorten(text: str, face: Font, width: int) -> str:
    """Cut ``text`` to ``width`` pixels, ending in an ellipsis when something was cut."""
    if text_width(text, face) <= width:
        return text
    while text and text_width(text.rstrip() + ELLIPSIS, face) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def wrap(text: str, face: Font, width: int, max_lines: int) -> list[str]:
    """Break ``text`` at spaces into at most ``max_lines`` lines; shorten the last one."""
    words = text.split()
    lines: list[str] = []
    current = ""
    i = 0
    while i < len(words):
        candidate = f"{current} {words[i]}" if current else words[i]
        if text_width(candidate, face) <= width:
            current, i = candidate, i + 1
            continue
        if not current:
            # One word wider than the screen (a long code): break it where it stops fitting.
            word, cut = words[i], len(words[i]) - 1
            while cut > 1 and text_width(word[:cut], face) > width:
                cut -= 1
            current, words[i] = word[:cut], word[cut:]
        lines.append(current)
        current = ""
        if len(lines) == max_lines:
            lines[-1] = shorten(f"{lines[-1]} {' '.join(words[i:])}", face, width)
            return lines
    if current:
        lines.append(current)
    return lines


def fit_size(text: str, width: int, largest: int, smallest: int, bold: bool = True) -> Font:
    """The largest font between ``smallest`` and ``largest`` in which ``text`` fits."""
    for size in range(largest, smallest - 1, -1):
        if text_width(text, font(size, bold)) <= width:
            return font(size, bold)
    return font(smallest, bold)


def _centered(draw: ImageDraw.ImageDraw, y: int, text: str, face: Font, width: int) -> None:
    text = shorten(text, face, width - 2)
    draw.text(((width - text_width(text, face)) // 2, y), text, font=face, fill=1)


def _status_bar(draw: ImageDraw.ImageDraw, state: DisplayState, width: int, title: str) -> None:
    """Top line: inverted title on the left, sync and scanner state on the right."""
    small = font(9)
    flags = []
    if not state.scanner_connected:
        flags.append("no scanner")
    if state.sync_connected is False:
        flags.append(f"offline {state.outbox}" if state.outbox else "offline")
    right = " · ".join(flags)
    right_w = text_width(right, small) + 2 if right else 0
    bold = font(9, bold=True)
    title = shorten(title, bold, width - right_w - 6)
    draw.rectangle((0, 0, text_width(title, bold) + 3, 10), fill=1)
    draw.text((2, 0), title, font=bold, fill=0)
    if right:
        draw.text((width - right_w, 0), right, font=small, fill=1)


def _mode_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    _status_bar(draw, state, width, state.station)
    label = state.mode.upper()
    _centered(draw, 16, label, fit_size(label, width - 4, 26, 12), width)
    _centered(draw, 50, _MODE_HINTS.get(state.mode, ""), font(10), width)


def _idle_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    _status_bar(draw, state, width, state.mode.upper())
    if state.expiring:
        draw.text((0, 13), "Use soon:", font=font(10, bold=True), fill=1)
        for row, line in enumerate(state.expiring[:3]):
            draw.text((0, 26 + row * 12), shorten(line, font(10), width), font=font(10), fill=1)
        return
    _centered(draw, 20, "Ready", font(16, bold=True), width)
    _centered(draw, 44, _MODE_HINTS.get(state.mode, "scan a product"), font(10), width)


def _result_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    title = _OUTCOME_TITLES.get(state.outcome, state.outcome.upper().replace("_", " "))
    _status_bar(draw, state, width, title)
    name_font = font(12, bold=True)
    lines = wrap(state.product or state.code, name_font, width, 2)
    y = 12
    for line in lines:
        draw.text((0, y), line, font=name_font, fill=1)
        y += 14
    small = font(10)
    y = max(y + 1, 40)
    for line in (state.detail, f"best before {state.best_before}" if state.best_before else ""):
        if line and y <= 54:
            draw.text((0, y), shorten(line, small, width), font=small, fill=1)
            y += 12


def _message_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    unknown = state.screen == "unknown"
    _status_bar(draw, state, width, "UNKNOWN PRODUCT" if unknown else "ERROR")
    y = 13
    if unknown and state.code:
        code_font = font(12, bold=True)
        draw.text((0, y), shorten(state.code, code_font, width), font=code_font, fill=1)
        y += 16
    face = font(10)
    for line in wrap(state.message, face, width, 4 if not unknown else 3):
        draw.text((0, y), line, font=face, fill=1)
        y += 12


def _pairing_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    _status_bar(draw, state, width, "PAIR" if state.pairing_url else "PAIR A DEVICE")
    code = state.pairing_code
    spaced = f"{code[:3]} {code[3:]}" if len(code) == 6 else code
    minutes = state.pairing_minutes
    expiry = f"valid {minutes} min" if state.pairing_url else f"valid for {minutes} min"
    qr_width = _pairing_qr(draw, state.pairing_url, width) if state.pairing_url else 0
    text_width = width - qr_width
    _centered(draw, 16, spaced, fit_size(spaced, text_width - 4, 24, 10), text_width)
    _centered(draw, 50, expiry, font(10), text_width)


def _pairing_qr(draw: ImageDraw.ImageDraw, url: str, width: int) -> int:
    """Draw ``url`` as a QR code at the right edge; return the width used (0: did not fit).

    Two pixels a module: a phone camera reads that off a 0.96" panel, one pixel it does not.
    """
    import segno

    qr = segno.make(url, error="l", micro=False)
    modules = list(qr.matrix_iter(scale=1, border=1))
    size = len(modules) * 2
    if size > 64:
        return 0
    left, top = width - size, (64 - size) // 2
    draw.rectangle((left - 1, 0, width - 1, 63), fill=0)
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            # Light modules are lit on the OLED: the code shows as dark on light, as printed.
            if not dark:
                draw.rectangle(
                    (left + 2 * x, top + 2 * y, left + 2 * x + 1, top + 2 * y + 1), fill=1
                )
    return size + 2


def _disconnected_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    _status_bar(draw, state, width, state.mode.upper())
    _centered(draw, 14, "Scanner", font(14, bold=True), width)
    _centered(draw, 30, "disconnected", font(12, bold=True), width)
    _centered(draw, 50, "plug it in again", font(10), width)


_SCREENS = {
    "idle": _idle_screen,
    "mode": _mode_screen,
    "result": _result_screen,
    "unknown": _message_screen,
    "error": _message_screen,
    "pairing": _pairing_screen,
    "disconnected": _disconnected_screen,
}


def render(state: DisplayState, size: tuple[int, int] = (128, 64)) -> Image.Image:
    """Draw ``state`` into a new 1-bit image of ``size``."""
    image = Image.new("1", size, 0)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "1"  # no anti-aliasing on a 1-bit panel: crisp pixels, stable goldens
    _SCREENS[state.screen](draw, state, size[0])
    return image
