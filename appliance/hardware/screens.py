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

Language = Literal["en", "de"]

# One catalogue per language for every text the display draws itself ([node] language).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "mode.add": "ADD",
        "mode.consume": "CONSUME",
        "mode.lookup": "LOOKUP",
        "mode.open": "OPEN",
        "mode.spoiled": "SPOILED",
        "mode.shopping": "SHOPPING",
        "hint.add": "scan purchases",
        "hint.consume": "scan what you use",
        "hint.lookup": "scan to look up",
        "hint.open": "scan what you open",
        "hint.spoiled": "scan to throw away",
        "hint.shopping": "scan to put on list",
        "hint.default": "scan a product",
        "outcome.added": "ADDED",
        "outcome.consumed": "USED",
        "outcome.opened": "OPENED",
        "outcome.spoiled": "THROWN AWAY",
        "outcome.listed": "ON THE LIST",
        "outcome.looked_up": "IN STOCK",
        "outcome.undone": "UNDONE",
        "outcome.printed": "LABEL PRINTED",
        "ready": "Ready",
        "use_soon": "Use soon:",
        "best_before": "best before {date}",
        "no_scanner": "no scanner",
        "offline": "offline",
        "offline_n": "offline {n}",
        "unknown": "UNKNOWN PRODUCT",
        "error": "ERROR",
        "pair": "PAIR",
        "pair_device": "PAIR A DEVICE",
        "valid": "valid {minutes} min",
        "valid_for": "valid for {minutes} min",
        "scanner": "Scanner",
        "disconnected": "disconnected",
        "plug_in": "plug it in again",
        "in_stock": "{amount} {unit} in stock",
        "none_left": "none left",
        "recount": "{amount} {unit} (recount)",
        "pcs": "pcs",
    },
    "de": {
        "mode.add": "EINLAGERN",
        "mode.consume": "VERBRAUCH",
        "mode.lookup": "NACHSEHEN",
        "mode.open": "ÖFFNEN",
        "mode.spoiled": "VERDORBEN",
        "mode.shopping": "EINKAUF",
        "hint.add": "Einkäufe scannen",
        "hint.consume": "Verbrauchtes scannen",
        "hint.lookup": "zum Nachsehen scannen",
        "hint.open": "Geöffnetes scannen",
        "hint.spoiled": "zum Wegwerfen scannen",
        "hint.shopping": "für die Einkaufsliste",
        "hint.default": "Produkt scannen",
        "outcome.added": "EINGELAGERT",
        "outcome.consumed": "VERBRAUCHT",
        "outcome.opened": "GEÖFFNET",
        "outcome.spoiled": "WEGGEWORFEN",
        "outcome.listed": "AUF DER LISTE",
        "outcome.looked_up": "IM VORRAT",
        "outcome.undone": "RÜCKGÄNGIG",
        "outcome.printed": "GEDRUCKT",
        "ready": "Bereit",
        "use_soon": "Bald verbrauchen:",
        "best_before": "MHD {date}",
        "no_scanner": "kein Scanner",
        "offline": "offline",
        "offline_n": "offline {n}",
        "unknown": "UNBEKANNT",
        "error": "FEHLER",
        "pair": "KOPPELN",
        "pair_device": "GERÄT KOPPELN",
        "valid": "gültig {minutes} Min.",
        "valid_for": "gültig für {minutes} Min.",
        "scanner": "Scanner",
        "disconnected": "getrennt",
        "plug_in": "bitte wieder einstecken",
        "in_stock": "{amount} {unit} im Vorrat",
        "none_left": "nichts mehr da",
        "recount": "{amount} {unit} (nachzählen)",
        "pcs": "Stk.",
    },
}


def text(language: str, key: str, **params: object) -> str:
    """The display text ``key`` in ``language`` (English when either is unknown)."""
    catalogue = TEXTS.get(language, TEXTS["en"])
    template = catalogue.get(key, TEXTS["en"].get(key, key))
    return template.format(**params) if params else template


def local_date(language: str, iso: str) -> str:
    """A best-before date as people write it: 2027-03-15, or 15.03.2027 in German."""
    if language == "de" and len(iso) >= 10 and iso[4] == "-" and iso[7] == "-":
        return f"{iso[8:10]}.{iso[5:7]}.{iso[0:4]}"
    return iso


def amount_line(language: str, total: float | None, unit: str | None) -> str:
    """'3 pcs in stock' / '3 Stk. im Vorrat', 'none left', a negative total to recount."""
    if total is None:
        return ""
    shown_unit = unit if unit and unit not in ("piece", "pcs") else text(language, "pcs")
    amount = f"{total:g}".replace(".", ",") if language == "de" else f"{total:g}"
    if total == 0:
        return text(language, "none_left")
    key = "in_stock" if total > 0 else "recount"
    return text(language, key, amount=amount, unit=shown_unit)


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
    language: str = "en"  # [node] language: the display's texts and date format


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
    lang = state.language
    flags = []
    if not state.scanner_connected:
        flags.append(text(lang, "no_scanner"))
    if state.sync_connected is False:
        flags.append(
            text(lang, "offline_n", n=state.outbox) if state.outbox else text(lang, "offline")
        )
    right = " · ".join(flags)
    right_w = text_width(right, small) + 2 if right else 0
    bold = font(9, bold=True)
    title = shorten(title, bold, width - right_w - 6)
    draw.rectangle((0, 0, text_width(title, bold) + 3, 10), fill=1)
    draw.text((2, 0), title, font=bold, fill=0)
    if right:
        draw.text((width - right_w, 0), right, font=small, fill=1)


def _mode_label(state: DisplayState) -> str:
    return text(state.language, f"mode.{state.mode}") if state.mode else ""


def _hint(state: DisplayState, fallback: str = "") -> str:
    key = f"hint.{state.mode}"
    return text(state.language, key) if key in TEXTS["en"] else fallback


def _mode_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    _status_bar(draw, state, width, state.station)
    label = _mode_label(state)
    _centered(draw, 16, label, fit_size(label, width - 4, 26, 12), width)
    _centered(draw, 50, _hint(state), font(10), width)


def _idle_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    _status_bar(draw, state, width, _mode_label(state))
    if state.expiring:
        draw.text((0, 13), text(state.language, "use_soon"), font=font(10, bold=True), fill=1)
        for row, line in enumerate(state.expiring[:3]):
            draw.text((0, 26 + row * 12), shorten(line, font(10), width), font=font(10), fill=1)
        return
    _centered(draw, 20, text(state.language, "ready"), font(16, bold=True), width)
    _centered(draw, 44, _hint(state, text(state.language, "hint.default")), font(10), width)


def _result_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    key = f"outcome.{state.outcome}"
    title = (
        text(state.language, key) if key in TEXTS["en"] else state.outcome.upper().replace("_", " ")
    )
    _status_bar(draw, state, width, title)
    name_font = font(12, bold=True)
    lines = wrap(state.product or state.code, name_font, width, 2)
    y = 12
    for line in lines:
        draw.text((0, y), line, font=name_font, fill=1)
        y += 14
    small = font(10)
    y = max(y + 1, 40)
    best_before = (
        text(state.language, "best_before", date=local_date(state.language, state.best_before))
        if state.best_before
        else ""
    )
    for line in (state.detail, best_before):
        if line and y <= 54:
            draw.text((0, y), shorten(line, small, width), font=small, fill=1)
            y += 12


def _message_screen(draw: ImageDraw.ImageDraw, state: DisplayState, width: int) -> None:
    unknown = state.screen == "unknown"
    _status_bar(draw, state, width, text(state.language, "unknown" if unknown else "error"))
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
    lang = state.language
    _status_bar(draw, state, width, text(lang, "pair" if state.pairing_url else "pair_device"))
    code = state.pairing_code
    spaced = f"{code[:3]} {code[3:]}" if len(code) == 6 else code
    minutes = state.pairing_minutes
    expiry = text(lang, "valid" if state.pairing_url else "valid_for", minutes=minutes)
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
    _status_bar(draw, state, width, _mode_label(state))
    _centered(draw, 14, text(state.language, "scanner"), font(14, bold=True), width)
    _centered(draw, 30, text(state.language, "disconnected"), font(12, bold=True), width)
    _centered(draw, 50, text(state.language, "plug_in"), font(10), width)


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
