"""Scanner input -> `Scan`: the one function every scan goes through (`parse_scan`).

Scanner text is untrusted input (brief, invariant 6): it is checked for length, character set
and check digits, and every refusal is a `ScanError` whose message can be shown to the user.

Decisions worth knowing:

* **Product key.** Every GTIN is stored in one canonical form, so that UPC-E `04252614`, UPC-A
  `042100005264`, EAN-13 `0042100005264` and GS1 AI (01) `00042100005264` are one product: the
  GTIN-14 with one leading zero dropped, i.e. 13 digits when it fits and 14 otherwise. GTIN-8
  (EAN-8) becomes its zero-padded 13-digit form. So every product key is 13 or 14 ASCII digits
  with a valid check digit.
* **Plain digits are never GS1.** EAN/UPC digits (with `]E0`/`]E3`/`]E4`/`]I1` or without an
  identifier) are read as a GTIN; biip would also offer a bogus element string such as
  `(400)6381333931` for them. Any all-digit text of GTIN length (8, 12, 13, 14) must be a valid
  GTIN, whatever the symbology, so a misread never becomes a shop code.
* **Eight digits** are EAN-8, except under `]E0`/`]E3` where they are a compressed UPC-E.
  Without an identifier a text that fails as EAN-8 is tried as UPC-E.
* **Two-digit years are 20YY.** biip resolves the century with a window around the wall
  clock, but the core reads no clock, and a Pi without RTC may boot in 1970 and would read a
  best-before `27` as 1927. All dates a kitchen sees for the next 70 years are in 2000-2099,
  so node and central get the same date from the same scan, whatever their clocks say.
* **GS1 without an identifier** is accepted when it clearly is one: it contains a group
  separator, starts with `01` + 14 digits, or is in brackets (`(01)...`). GS1 Digital Link
  URLs (`https://.../01/<gtin>`) are read too; any other URL is a plain code.
* **Add-ons** (`]E3`, 2 or 5 extra digits after an EAN-13) are dropped: they number issues of
  a magazine, not products.
* **Lot labels** (`LOT:` + 26 characters, see `appliance.core.lotcode`) name one lot, in any
  symbology and any case; a damaged one is refused with a message, never read as a code.
* **Grocy codes** (`grcy:p:{product}:{stock}`, any case, see `appliance.core.grocy_ids`) with a
  stock id of ours name one lot too (kind "lot"); a product code `grcy:p:{product}`, or one
  whose stock id is not ours (printed by Grocy itself), is kind "grocy": the node looks the
  integer up. Chore, battery and recipe codes are refused: the node has none of them.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Literal

from biip import ParseConfig, ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementStrings
from biip.gs1_messages import GS1Message
from biip.symbology import GS1Symbology, ISOSymbology, SymbologyIdentifier
from biip.upc import Upc

from appliance.core.grocy_ids import parse_grocycode
from appliance.core.lotcode import LotCodeError, lot_code, lot_id_from_code
from appliance.core.modes import ScanMode

__all__ = [
    "MAX_SCAN_LENGTH", "Scan", "ScanError", "ScanKind",
    "is_valid_gtin", "mode_barcode_text", "normalize_gtin", "parse_scan",
]  # fmt: skip

MAX_SCAN_LENGTH = 512
GS = "\x1d"  # GS1 group separator, what scanners send for FNC1

ScanKind = Literal["mode", "gtin", "gs1", "code", "lot", "grocy"]

# Dates are checked by us, not by biip: its check uses a clock-derived century (see above).
_BIIP_CONFIG = ParseConfig(gs1_element_strings_verify_date=False, separator_chars=(GS,))
_DATE_AIS = {"11": "production date", "15": "best-before date", "17": "expiry date"}
_GS1_SYMBOLOGIES = GS1Symbology.with_gs1_messages() | {
    GS1Symbology.GS1_COMPOSITE_WITH_SEPARATOR_CHAR,
    GS1Symbology.GS1_COMPOSITE_WITH_ESCAPE_CHAR,
}
# ISO 4217 numeric -> alpha for AI 393x; an unlisted currency keeps its numeric code.
_CURRENCIES = {
    "978": "EUR", "840": "USD", "826": "GBP", "756": "CHF", "752": "SEK", "578": "NOK",
    "208": "DKK", "985": "PLN", "203": "CZK", "348": "HUF", "124": "CAD", "036": "AUD",
    "392": "JPY",
}  # fmt: skip
_WEIGHT_UNITS = {"310": "kg", "320": "lb", "315": "l"}  # preferred in this order
_IDENTIFIER = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_MODE = re.compile(r"mode:(.*)", re.IGNORECASE | re.DOTALL)
_DIGITS = re.compile(r"[0-9]+")
_GS1_LIKE = re.compile(r"01[0-9]{14}|\(0[12]\)[0-9]{14}")
_BIIP_PATTERN_MISMATCH = re.compile(r"Failed to match '(.*)' with GS1 AI \((\d+)\)", re.DOTALL)


class ScanError(ValueError):
    """A scan that cannot be used; the message is meant for the person who scanned."""


@dataclass(frozen=True, slots=True)
class Scan:
    """What a scan means: a mode switch, a product (GTIN, maybe with GS1 data), a lot's label
    or a plain code."""

    kind: ScanKind
    raw: str  # as received, minus the trailing CR/LF
    symbology: str | None = None  # AIM identifier, e.g. "]d2"
    mode: ScanMode | None = None
    gtin: str | None = None  # canonical: 13 or 14 digits
    code: str | None = None  # lookup key: the canonical GTIN, the text for kind "code",
    # the canonical lot code (or Grocy code, lower case) for kinds "lot" and "grocy"
    lot_id: str | None = None  # kind "lot": the lot the label names
    grocy_product: int | None = None  # Grocy codes: the product's integer id
    grocy_stock: str | None = None  # kind "grocy": a stock id that is not one of our lots
    best_before: date | None = None  # AI 15, else AI 17
    expiry: date | None = None  # AI 17
    production_date: date | None = None  # AI 11
    batch: str | None = None  # AI 10
    serial: str | None = None  # AI 21
    net_weight: Decimal | None = None  # AI 310x (kg), 320x (lb) or 315x (l)
    net_weight_unit: str | None = None
    price: Decimal | None = None  # AI 392x / 393x
    currency: str | None = None  # ISO 4217, from AI 393x only

    def to_dict(self) -> dict[str, str | None]:
        """JSON-safe form for the HTTP API: dates as ISO strings, decimals and modes as strings."""
        out: dict[str, str | None] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, date):
                out[field.name] = value.isoformat()
            else:  # str() keeps a Decimal's digits ("0.500") and gives a ScanMode's value
                out[field.name] = None if value is None else str(value)
        return out


def mode_barcode_text(mode: ScanMode) -> str:
    """The canonical text of the barcode that switches a station to `mode` (e.g. `MODE:ADD`)."""
    return f"MODE:{ScanMode(mode).value.upper()}"


def is_valid_gtin(text: str) -> bool:
    """True if `text` is a GTIN-8/12/13/14 of ASCII digits with a correct check digit."""
    return (
        len(text) in (8, 12, 13, 14)
        and _DIGITS.fullmatch(text) is not None
        and str(gs1_standard_check_digit(text[:-1])) == text[-1]
    )


def normalize_gtin(text: str) -> str:
    """Canonical product key for a GTIN typed by hand (spaces and dashes are ignored).

    Accepts GTIN-8/12/13/14 and 8-digit UPC-E; raises `ScanError` otherwise.
    """
    digits = text.strip().replace(" ", "").replace("-", "")
    if not digits:
        raise ScanError("The barcode number is empty.")
    if _DIGITS.fullmatch(digits) is None:
        raise ScanError(f"A barcode number has only digits, but {text.strip()!r} has others.")
    return _gtin_from_digits(digits, upc_e_first=False)


def parse_scan(raw: str, *, gs_substitute: str | None = None) -> Scan:
    """Read one scan: mode barcode, EAN/UPC, GS1 element string / Digital Link, or other code.

    `raw` may start with an AIM symbology identifier (`]E0`, `]d2`, ...) and end in CR/LF.
    `gs_substitute` is the character a scanner was configured to send instead of the GS1 group
    separator (ASCII 29). Raises `ScanError` with a user-facing message for unusable input.
    """
    if gs_substitute is not None and (len(gs_substitute) != 1 or gs_substitute.isalnum()):
        # A configuration bug, not a bad scan: a digit or letter here would corrupt every GTIN.
        raise ValueError("gs_substitute must be a single character that is not a letter or digit")
    raw = raw.rstrip("\r\n")
    if not raw.strip():
        raise ScanError("The scan is empty.")
    if len(raw) > MAX_SCAN_LENGTH:
        raise ScanError(
            f"The scan is too long ({len(raw)} characters; at most {MAX_SCAN_LENGTH} are accepted)."
        )
    _check_characters(raw, allowed={GS, gs_substitute or GS})

    identifier = _split_identifier(raw)
    symbology = identifier.value if identifier else None
    text = raw[len(symbology or "") :].strip(" ")
    if not text:
        raise ScanError(f"The scan has no data after its symbology identifier {symbology}.")

    if (mode := _parse_mode(text)) is not None:
        return Scan(kind="mode", raw=raw, symbology=symbology, mode=mode)
    if (lot := _parse_lot(text)) is not None:
        return Scan(kind="lot", raw=raw, symbology=symbology, code=lot_code(lot), lot_id=lot)
    if text[:5].lower() == "grcy:":
        return _grocy_scan(raw, symbology, text)
    if gs_substitute is not None:
        text = text.replace(gs_substitute, GS)

    if identifier is not None and (
        identifier.iso_symbology is ISOSymbology.EAN_UPC
        or identifier.gs1_symbology is GS1Symbology.ITF_14
    ):
        if _DIGITS.fullmatch(text) is None:
            raise ScanError(
                f"An EAN/UPC barcode ({symbology}) has only digits, but this one has {text!r}."
            )
        with_add_on = identifier.gs1_symbology is GS1Symbology.EAN_13_WITH_ADD_ON
        if with_add_on and len(text) in (15, 18):
            text = text[:13]  # drop the 2- or 5-digit add-on
        upc_e_first = with_add_on or identifier.gs1_symbology is GS1Symbology.EAN_13
        gtin = _gtin_from_digits(text, upc_e_first=upc_e_first)
        return Scan(kind="gtin", raw=raw, symbology=symbology, gtin=gtin, code=gtin)
    if identifier is not None and identifier.gs1_symbology in _GS1_SYMBOLOGIES:
        return _gs1_scan(raw, symbology, text)

    # No identifier, or one that says nothing about GS1 (Code 128, QR, Data Matrix...):
    # the content decides.
    if _DIGITS.fullmatch(text) and len(text) in (8, 12, 13, 14):
        gtin = _gtin_from_digits(text, upc_e_first=False)
        return Scan(kind="gtin", raw=raw, symbology=symbology, gtin=gtin, code=gtin)
    if GS in text or _GS1_LIKE.match(text):
        return _gs1_scan(raw, symbology, text)
    if _is_url(text):
        try:
            return _gs1_scan(raw, symbology, text)
        except ScanError:
            pass  # an ordinary URL in a QR code: keep it as a code
    return _code_scan(raw, symbology, text)


def _check_characters(raw: str, *, allowed: set[str]) -> None:
    for position, char in enumerate(raw, start=1):
        # Cc control, Cf invisible format, Cs lone surrogate (cannot even be stored as UTF-8),
        # Co private use: none of them belong in a barcode that a person can act on.
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co"):
            raise ScanError(
                f"The scan contains an invalid control character (U+{ord(char):04X}) at "
                f"position {position}; only the GS1 group separator is allowed."
            )


def _split_identifier(raw: str) -> SymbologyIdentifier | None:
    if not raw.startswith("]"):
        return None
    identifier: SymbologyIdentifier | None = None
    if _IDENTIFIER.match(raw):
        try:
            identifier = SymbologyIdentifier.extract(raw)
        except (ParseError, ValueError):  # ValueError: "]Y" with a non-digit length
            identifier = None
    if identifier is None or identifier.value != raw[:3]:
        raise ScanError(
            f"Unknown symbology identifier {raw[:3]!r}: expected ']' followed by a symbology "
            "letter and a modifier, such as ]E0 or ]d2."
        )
    return identifier


def _parse_mode(text: str) -> ScanMode | None:
    match = _MODE.fullmatch(text)
    if match is None:
        return None
    name = match.group(1).strip().lower()
    if name in {mode.value for mode in ScanMode}:
        return ScanMode(name)
    valid = ", ".join(mode_barcode_text(mode) for mode in ScanMode)
    raise ScanError(f"Unknown mode barcode {text!r}. Valid mode barcodes are: {valid}.")


def _parse_lot(text: str) -> str | None:
    try:
        return lot_id_from_code(text)
    except LotCodeError as exc:
        raise ScanError(str(exc)) from None


_GROCY_TYPES = {"b": "battery", "c": "chore", "r": "recipe"}


def _grocy_scan(raw: str, symbology: str | None, text: str) -> Scan:
    code = parse_grocycode(text)
    if code is None:
        raise ScanError(
            f"{text!r} is not a Grocy code this node can read: it reads grcy:p:<product> and "
            "grcy:p:<product>:<stock>."
        )
    if code.type != "p":
        raise ScanError(
            f"This Grocy code names a {_GROCY_TYPES.get(code.type, code.type)}; this node "
            "keeps products and their stock only."
        )
    if code.lot_id is not None:
        return Scan(
            kind="lot", raw=raw, symbology=symbology, code=str(code), lot_id=code.lot_id,
            grocy_product=code.object_id,
        )  # fmt: skip
    stock = code.extra[0] if code.extra else None
    return Scan(
        kind="grocy", raw=raw, symbology=symbology, code=str(code),
        grocy_product=code.object_id, grocy_stock=stock,
    )  # fmt: skip


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _canonical(gtin: str) -> str:
    gtin14 = gtin.zfill(14)
    return gtin14[1:] if gtin14.startswith("0") else gtin14


def _checked_gtin(digits: str, *, label: str = "GTIN") -> str:
    expected = str(gs1_standard_check_digit(digits[:-1]))
    if digits[-1] != expected:
        raise ScanError(
            f"Invalid check digit in {label} {digits}: the last digit should be {expected}, "
            f"not {digits[-1]}. Please scan again."
        )
    return _canonical(digits)


def _upc_e(digits: str) -> str:
    # Expand the 7 digits without the check digit; biip computes the check digit the UPC-A has.
    try:
        upc_a = Upc.parse(digits[:7]).as_upc_a()
    except ParseError:
        raise ScanError(f"{digits} is not a valid UPC-E code: it must start with 0 or 1.") from None
    if upc_a[-1] != digits[-1]:
        raise ScanError(
            f"Invalid check digit in UPC-E {digits}: the last digit should be {upc_a[-1]}, "
            f"not {digits[-1]}. Please scan again."
        )
    return _canonical(upc_a)


def _gtin_from_digits(digits: str, *, upc_e_first: bool) -> str:
    if len(digits) == 8 and upc_e_first:
        return _upc_e(digits)
    if len(digits) == 8 and not is_valid_gtin(digits) and digits[0] in "01":
        try:
            return _upc_e(digits)
        except ScanError:
            pass  # report the EAN-8 error below: EAN-8 is the likelier reading
    if len(digits) not in (8, 12, 13, 14):
        raise ScanError(
            f"A product barcode has 8, 12, 13 or 14 digits, but {digits} has {len(digits)}."
        )
    return _checked_gtin(digits)


def _gs1_scan(raw: str, symbology: str | None, text: str) -> Scan:
    text = text.lstrip(GS)  # some scanners send the leading FNC1 as GS
    try:
        if _is_url(text):
            elements = GS1DigitalLinkURI.parse(text, config=_BIIP_CONFIG).element_strings
        elif text.startswith("("):
            elements = GS1Message.parse_hri(text, config=_BIIP_CONFIG).element_strings
        else:
            elements = GS1Message.parse(text, config=_BIIP_CONFIG).element_strings
    except (ParseError, ValueError) as exc:  # ValueError: urlsplit on a malformed URL
        raise ScanError(_explain_biip_error(exc)) from None
    return _scan_from_elements(raw, symbology, elements)


def _explain_biip_error(exc: Exception) -> str:
    mismatch = _BIIP_PATTERN_MISMATCH.search(str(exc))
    if mismatch and mismatch.group(2) in _DATE_AIS:
        ai = mismatch.group(2)
        value = mismatch.group(1)[len(ai) : len(ai) + 6]
        return f"The {_DATE_AIS[ai]} in AI ({ai}) is not a valid date (YYMMDD): {value!r}."
    return f"This GS1 barcode could not be read: {exc}"


def _gs1_date(ai: str, value: str) -> date:
    year, month, day = 2000 + int(value[0:2]), int(value[2:4]), int(value[4:6])
    # biip's pattern already refuses month 13; month 00 and day 30 of February get here.
    if not 1 <= month <= 12 or day > calendar.monthrange(year, month)[1]:
        raise ScanError(
            f"The {_DATE_AIS[ai]} in AI ({ai}) is not a valid date (YYMMDD): {value!r}."
        )
    return date(year, month, day or calendar.monthrange(year, month)[1])  # 00: last day


def _scan_from_elements(raw: str, symbology: str | None, elements: GS1ElementStrings) -> Scan:
    gtins: dict[str, str] = {}
    dates: dict[str, date] = {}
    texts: dict[str, str] = {}
    measures: dict[str, Decimal] = {}
    price: Decimal | None = None
    currency: str | None = None
    for element in elements:
        ai, value = element.ai.ai, element.value
        if ai in ("01", "02"):
            gtins.setdefault(ai, _checked_gtin(value, label=f"GTIN (AI {ai})"))
        elif ai in _DATE_AIS:
            dates.setdefault(ai, _gs1_date(ai, value))
        elif ai in ("10", "21"):
            texts.setdefault(ai, value)
        elif ai[:3] in _WEIGHT_UNITS and element.decimal is not None:
            measures.setdefault(_WEIGHT_UNITS[ai[:3]], element.decimal)
        elif ai[:3] in ("392", "393") and price is None and element.decimal is not None:
            price = element.decimal
            if ai.startswith("393"):
                currency = _CURRENCIES.get(element.pattern_groups[0], element.pattern_groups[0])
    gtin = gtins.get("01") or gtins.get("02")  # 02 = the GTIN of the items in a case
    if gtin is None:
        raise ScanError("There is no product in this barcode: it carries no GTIN (AI 01).")
    unit = next((unit for unit in _WEIGHT_UNITS.values() if unit in measures), None)
    return Scan(
        kind="gs1",
        raw=raw,
        symbology=symbology,
        gtin=gtin,
        code=gtin,
        best_before=dates.get("15") or dates.get("17"),
        expiry=dates.get("17"),
        production_date=dates.get("11"),
        batch=texts.get("10"),
        serial=texts.get("21"),
        net_weight=measures[unit] if unit else None,
        net_weight_unit=unit,
        price=price,
        currency=currency,
    )


def _code_scan(raw: str, symbology: str | None, text: str) -> Scan:
    # A one- or two-character read is nearly always a partial scan of a longer code.
    if len(text) < 3:
        raise ScanError(f"The code {text!r} is too short to be a product code; please scan again.")
    if "\ufffd" in text:
        raise ScanError("The scan contains unreadable characters (U+FFFD); please scan again.")
    if not any(char.isalnum() for char in text):
        raise ScanError(f"The code {text!r} has no letters or digits; please scan again.")
    return Scan(kind="code", raw=raw, symbology=symbology, code=text)
