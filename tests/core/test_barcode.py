"""parse_scan: every scan goes through it, so every boundary case is pinned here."""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import biip
import biip.gs1_element_strings
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pystrich.datamatrix import FNC1, DataMatrixEncoder

from appliance.core.barcode import (
    MAX_SCAN_LENGTH,
    Scan,
    ScanError,
    is_valid_gtin,
    mode_barcode_text,
    normalize_gtin,
    parse_scan,
)
from appliance.core.modes import ScanMode

GS = "\x1d"
NOTES_EXAMPLE = "]d2" + "0104006381333931" + "17270315" + "10LOT42" + GS + "3103000500"


# --- symbology identifiers -------------------------------------------------------------------

SYMBOLOGIES = [
    # raw, kind, symbology, key
    ("]E04006381333931", "gtin", "]E0", "4006381333931"),
    ("]E0036000291452", "gtin", "]E0", "0036000291452"),  # UPC-A as 12 digits
    ("]E00042100005264", "gtin", "]E0", "0042100005264"),  # UPC-E, expanded (ISO 15424)
    ("]E004252614", "gtin", "]E0", "0042100005264"),  # UPC-E, compressed
    ("]E3400638133393112", "gtin", "]E3", "4006381333931"),  # 2-digit add-on dropped
    ("]E3400638133393112345", "gtin", "]E3", "4006381333931"),  # 5-digit add-on dropped
    ("]E496385074", "gtin", "]E4", "0000096385074"),
    ("]I104006381333931", "gtin", "]I1", "4006381333931"),  # ITF-14
    ("]C10104006381333931", "gs1", "]C1", "4006381333931"),
    ("]d20104006381333931", "gs1", "]d2", "4006381333931"),
    ("]Q30104006381333931", "gs1", "]Q3", "4006381333931"),
    ("]e00104006381333931", "gs1", "]e0", "4006381333931"),
    ("]C0SHOP-4711", "code", "]C0", "SHOP-4711"),
    ("]Q1Regal 3, Fach B", "code", "]Q1", "Regal 3, Fach B"),
    ("]d1Käse vom Markt", "code", "]d1", "Käse vom Markt"),
    ("]A0CODE39", "code", "]A0", "CODE39"),
    ("]C04006381333931", "gtin", "]C0", "4006381333931"),  # EAN digits in a Code 128
    ("]Q10104006381333931172703153103000500", "gs1", "]Q1", "4006381333931"),  # GS1 w/o FNC1
]


@pytest.mark.parametrize(("raw", "kind", "symbology", "key"), SYMBOLOGIES)
def test_symbology_identifiers(raw: str, kind: str, symbology: str, key: str) -> None:
    scan = parse_scan(raw)
    assert (scan.kind, scan.symbology, scan.code) == (kind, symbology, key)
    assert scan.raw == raw
    if kind != "code":
        assert scan.gtin == key


# --- GS1 element strings ---------------------------------------------------------------------


def test_notes_example() -> None:
    scan = parse_scan(NOTES_EXAMPLE)
    assert scan == Scan(
        kind="gs1",
        raw=NOTES_EXAMPLE,
        symbology="]d2",
        gtin="4006381333931",
        code="4006381333931",
        best_before=dt.date(2027, 3, 15),
        expiry=dt.date(2027, 3, 15),
        batch="LOT42",
        net_weight=Decimal("0.500"),
        net_weight_unit="kg",
    )


@pytest.mark.parametrize("substitute", ["~", "^", "|", "#"])
def test_gs_substitute(substitute: str) -> None:
    raw = NOTES_EXAMPLE.replace(GS, substitute)
    scan = parse_scan(raw + "\r\n", gs_substitute=substitute)
    assert scan.raw == raw  # as scanned: the substitute stays, the line ending goes
    assert scan == replace(parse_scan(NOTES_EXAMPLE), raw=raw)


def test_unconfigured_substitute_is_refused() -> None:
    # "~" is outside the GS1 character set, so the batch cannot swallow it silently.
    with pytest.raises(ScanError, match="This GS1 barcode could not be read"):
        parse_scan(NOTES_EXAMPLE.replace(GS, "~"))


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ("15280200", dt.date(2028, 2, 29)),  # day 00: last day of a leap February
        ("15270200", dt.date(2027, 2, 28)),
        ("15261200", dt.date(2026, 12, 31)),
        ("15270415", dt.date(2027, 4, 15)),
    ],
)
def test_best_before_dates(element: str, expected: dt.date) -> None:
    scan = parse_scan("]C1" + "0104006381333931" + element)
    assert scan.best_before == expected
    assert scan.expiry is None


def test_all_fields() -> None:
    raw = (
        "]d2" + "0104006381333931" + "11260101" + "15270100" + "17270215"
        + "10B-7" + GS + "21SN0001" + GS + "3922199" + GS + "3932978499"
    )  # fmt: skip
    scan = parse_scan(raw)
    assert scan.best_before == dt.date(2027, 1, 31)  # AI 15 wins over AI 17 for the kitchen
    assert scan.expiry == dt.date(2027, 2, 15)
    assert scan.production_date == dt.date(2026, 1, 1)
    assert (scan.batch, scan.serial) == ("B-7", "SN0001")
    assert (scan.price, scan.currency) == (Decimal("1.99"), None)  # the first price counts


@pytest.mark.parametrize(
    ("elements", "weight", "unit", "price", "currency"),
    [
        ("3103000500", Decimal("0.500"), "kg", None, None),
        ("3202001500", Decimal("15.00"), "lb", None, None),
        ("3153001500", Decimal("1.500"), "l", None, None),
        ("3153001500" + "3102000250", Decimal("2.50"), "kg", None, None),  # weight over volume
        ("3932978499", None, None, Decimal("4.99"), "EUR"),
        ("3931840250", None, None, Decimal("25.0"), "USD"),
        ("3932999100", None, None, Decimal("1.00"), "999"),  # unknown currency: numeric code
        ("3922199", None, None, Decimal("1.99"), None),
    ],
)
def test_measures_and_prices(
    elements: str,
    weight: Decimal | None,
    unit: str | None,
    price: Decimal | None,
    currency: str | None,
) -> None:
    scan = parse_scan("]C1" + "0104006381333931" + elements)
    assert (scan.net_weight, scan.net_weight_unit) == (weight, unit)
    assert (scan.price, scan.currency) == (price, currency)


@pytest.mark.parametrize(
    "raw",
    [
        "0104006381333931" + "17270315" + "10LOT42" + GS + "3103000500",  # starts with 01+GTIN
        GS + "0104006381333931" + "17270315",  # leading FNC1 sent as GS
        "10LOT42" + GS + "0104006381333931",  # contains GS
        "0104006381333931",  # 01 + GTIN and nothing else
        "(01)04006381333931(17)270315",  # human-readable form, typed by hand
        "]d2(01)04006381333931(17)270315",  # a reader set to HRI output
        "https://id.gs1.org/01/04006381333931/10/LOT42?17=270315",  # GS1 Digital Link
        "]Q3https://example.com/01/04006381333931",
    ],
)
def test_gs1_without_or_with_unusual_framing(raw: str) -> None:
    scan = parse_scan(raw)
    assert (scan.kind, scan.gtin) == ("gs1", "4006381333931")


def test_gs1_uses_02_when_there_is_no_01() -> None:
    scan = parse_scan("]C1" + "0204006381333931" + "3705")
    assert scan.gtin == "4006381333931"


def test_two_digit_years_do_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Pi without RTC boots in 1970; biip's century window then reads '27' as 1927."""

    class Booted1970(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Booted1970:
            return cls(1970, 1, 1, tzinfo=tz)

    fake = SimpleNamespace(datetime=Booted1970, date=dt.date, UTC=dt.UTC)
    monkeypatch.setattr(biip.gs1_element_strings, "dt", fake)
    biip_result = biip.parse(NOTES_EXAMPLE).gs1_message
    assert biip_result is not None
    assert biip_result.element_strings.get(ai="17").date == dt.date(1927, 3, 15)  # type: ignore[union-attr]
    assert parse_scan(NOTES_EXAMPLE).best_before == dt.date(2027, 3, 15)


# --- one product, one key --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["04252614", "]E004252614", "042100005264", "]E0042100005264", "0042100005264",
     "]E00042100005264", "00042100005264", "]C10100042100005264", "]d2010004210000526415270101"],
)  # fmt: skip
def test_upc_e_upc_a_ean13_gtin14_are_one_product(raw: str) -> None:
    assert parse_scan(raw).code == "0042100005264"


@pytest.mark.parametrize(
    "raw", ["036000291452", "0036000291452", "00036000291452", "]C10100036000291452"]
)
def test_same_key_for_an_upc_a_product(raw: str) -> None:
    assert parse_scan(raw).gtin == "0036000291452"


def test_gtin_14_with_packaging_indicator_keeps_14_digits() -> None:
    assert parse_scan("]C1" + "0114006381333938").gtin == "14006381333938"
    assert parse_scan("14006381333938").gtin == "14006381333938"


@pytest.mark.parametrize("raw", ["4006381333931", "]E04006381333931", "96385074", "15210526"])
def test_plain_ean_is_never_gs1(raw: str) -> None:
    # biip alone reads 4006381333931 as (400)..., 96385074 as (96)..., 15210526 as (15) 2021-05-26
    scan = parse_scan(raw)
    assert scan.kind == "gtin"
    assert (scan.best_before, scan.batch, scan.net_weight) == (None, None, None)


def test_plain_ean_8_that_is_valid_wins_over_upc_e() -> None:
    assert parse_scan("96385074").gtin == "0000096385074"


# --- mode barcodes ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(ScanMode))
def test_mode_barcodes_round_trip(mode: ScanMode) -> None:
    text = mode_barcode_text(mode)
    assert text == f"MODE:{mode.value.upper()}"
    for raw in (text, text.lower(), "]C0" + text, "]Q1" + text, text + "\r\n"):
        scan = parse_scan(raw)
        assert (scan.kind, scan.mode, scan.gtin, scan.code) == ("mode", mode, None, None)


def test_mode_barcode_texts() -> None:
    assert [mode_barcode_text(mode) for mode in ScanMode] == [
        "MODE:ADD", "MODE:CONSUME", "MODE:LOOKUP", "MODE:OPEN", "MODE:SPOILED", "MODE:SHOPPING",
    ]  # fmt: skip


# --- errors ----------------------------------------------------------------------------------

PRODUCT = "]C1" + "0104006381333931"  # a GS1-128 with a valid GTIN, to append elements to
BAD_DATE = "is not a valid date (YYMMDD)"
CHECK = "Invalid check digit in"
ERRORS = [
    ("", "The scan is empty."),
    ("\r\n", "The scan is empty."),
    ("   ", "The scan is empty."),
    ("]E0", "The scan has no data after its symbology identifier ]E0."),
    ("A" * 513, "The scan is too long (513 characters; at most 512 are accepted)."),
    ("ABC\tDEF", "invalid control character (U+0009) at position 4"),
    ("ABC\x00", "invalid control character (U+0000) at position 4"),
    ("4006381333931\r\n\r\nX", "invalid control character (U+000D) at position 14"),
    ("ABC\u200bDEF", "invalid control character (U+200B)"),
    ("ABC\ud800", "invalid control character (U+D800)"),
    ("4006381333932", f"{CHECK} GTIN 4006381333932: the last digit should be 1, not 2."),
    ("]E04006381333932", "the last digit should be 1, not 2"),
    ("]C04006381333932", "the last digit should be 1, not 2"),  # no fall-through to "code"
    ("036000291453", f"{CHECK} GTIN 036000291453: the last digit should be 2, not 3."),
    ("96385075", f"{CHECK} GTIN 96385075: the last digit should be 4, not 5."),
    ("00036000291453", "the last digit should be 2, not 3"),
    ("]E004252615", f"{CHECK} UPC-E 04252615: the last digit should be 4, not 5."),
    ("]E0400638133393A", "An EAN/UPC barcode (]E0) has only digits, but this one has '40063"),
    ("]E012345", "A product barcode has 8, 12, 13 or 14 digits, but 12345 has 5."),
    ("]C10104006381333932", f"{CHECK} GTIN (AI 01) 04006381333932: the last digit should be 1"),
    (PRODUCT + "15271315", f"The best-before date in AI (15) {BAD_DATE}: '271315'."),
    (PRODUCT + "17270230", f"The expiry date in AI (17) {BAD_DATE}: '270230'."),
    (PRODUCT + "17270015", f"The expiry date in AI (17) {BAD_DATE}: '270015'."),
    (PRODUCT + "11261301", f"The production date in AI (11) {BAD_DATE}: '261301'."),
    ("]C100012345600000000001", "There is no product in this barcode: it carries no GTIN (AI 01)."),
    ("]d210LOT42", "There is no product in this barcode"),
    ("]C1HELLO", "This GS1 barcode could not be read"),
    ("MODE:FOO", "Unknown mode barcode 'MODE:FOO'. Valid mode barcodes are: MODE:ADD, "),
    ("MODE:FOO", "MODE:CONSUME, MODE:LOOKUP, MODE:OPEN, MODE:SPOILED, MODE:SHOPPING."),
    ("]C0MODE:", "Unknown mode barcode 'MODE:'"),
    ("]!0ABC", "Unknown symbology identifier ']!0'"),
    ("]W0ABC", "Unknown symbology identifier ']W0'"),
    ("]E", "Unknown symbology identifier ']E'"),
    ("]YxABC", "Unknown symbology identifier ']Yx'"),
    ("]C0AB", "The code 'AB' is too short to be a product code"),
    ("]C0---...", "The code '---...' has no letters or digits"),
    ("AB\ufffdCD", "unreadable characters (U+FFFD)"),
]


@pytest.mark.parametrize(("raw", "message"), ERRORS)
def test_errors(raw: str, message: str) -> None:
    with pytest.raises(ScanError) as excinfo:
        parse_scan(raw)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_longest_accepted_scan() -> None:
    assert parse_scan("A" * MAX_SCAN_LENGTH + "\r\n").code == "A" * MAX_SCAN_LENGTH


@pytest.mark.parametrize("substitute", ["", "~~", "1", "a"])
def test_bad_gs_substitute_is_a_configuration_error(substitute: str) -> None:
    with pytest.raises(ValueError, match="gs_substitute") as excinfo:
        parse_scan(NOTES_EXAMPLE, gs_substitute=substitute)
    assert not isinstance(excinfo.value, ScanError)


# --- normalize_gtin / is_valid_gtin / to_dict ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("4006381333931", "4006381333931"),
        (" 4 006381 333931 ", "4006381333931"),
        ("036000-291452", "0036000291452"),
        ("96385074", "0000096385074"),
        ("04252614", "0042100005264"),
        ("14006381333938", "14006381333938"),
    ],
)
def test_normalize_gtin(text: str, key: str) -> None:
    assert normalize_gtin(text) == key
    assert is_valid_gtin(key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The barcode number is empty."),
        ("40063813339A1", "A barcode number has only digits"),
        ("12345", "has 5"),
        ("4006381333932", "the last digit should be 1, not 2"),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", "A barcode number has only digits"),  # Arabic-Indic digits
    ],
)
def test_normalize_gtin_errors(text: str, message: str) -> None:
    with pytest.raises(ScanError, match=message):
        normalize_gtin(text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [("4006381333931", True), ("4006381333932", False), ("96385074", True),
     ("036000291452", True), ("04252614", False), ("123", False), ("400638133393X", False)],
)  # fmt: skip
def test_is_valid_gtin(text: str, valid: bool) -> None:
    assert is_valid_gtin(text) is valid


def test_to_dict_is_json_safe() -> None:
    data = parse_scan(NOTES_EXAMPLE).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["best_before"] == "2027-03-15"
    assert data["net_weight"] == "0.500"
    assert data["kind"] == "gs1"
    mode = parse_scan("MODE:OPEN").to_dict()
    assert mode["mode"] == "open"
    assert type(mode["mode"]) is str


# --- properties ------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["]E0", "]E3", "]E4", "]C0", "]C1", "]d2", "]Q1", "]Q3", "]e0", "]I1", "01", "02", "10", "11",
     "15", "17", "21", "3103", "3202", "3151", "3922", "3932", "978", "00", GS, "~", "MODE:",
     "(01)", "https://x.org/01/", "0", "1", "4006381333931", "04006381333931", "04252614",
     "\r\n", "]", "A"]
)  # fmt: skip
_SCANNER_LIKE = st.lists(
    st.one_of(_PIECES, st.text(alphabet="0123456789", max_size=14)), max_size=12
)


def _check(raw: str) -> None:
    try:
        scan = parse_scan(raw, gs_substitute="~")
    except ScanError:
        return
    if scan.gtin is not None:
        assert len(scan.gtin) in (13, 14)
        assert is_valid_gtin(scan.gtin)
        assert scan.code == scan.gtin
    assert scan.kind in ("mode", "gtin", "gs1", "code")
    assert scan.raw == raw.rstrip("\r\n")
    assert len(scan.raw) <= MAX_SCAN_LENGTH
    json.dumps(scan.to_dict())


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=600))
def test_arbitrary_text_only_raises_scan_error(raw: str) -> None:
    _check(raw)


@settings(max_examples=1500, deadline=None)
@given(_SCANNER_LIKE)
def test_scanner_like_text_only_raises_scan_error(pieces: list[str]) -> None:
    _check("".join(pieces))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_digit_strings_are_gtins_or_errors_or_codes(digits: str) -> None:
    try:
        scan = parse_scan(digits)
    except ScanError:
        return
    if len(digits) in (8, 12, 13, 14):
        assert scan.kind == "gtin"
        assert scan.gtin is not None
        assert is_valid_gtin(scan.gtin)


# --- round trip through real barcode images --------------------------------------------------


def _read(image: Any) -> tuple[str, str]:
    (barcode,) = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    return barcode.symbology_identifier, barcode.text


@pytest.mark.parametrize(
    ("format_name", "text", "kind", "key"),
    [
        ("EAN13", "4006381333931", "gtin", "4006381333931"),
        ("EAN8", "96385074", "gtin", "0000096385074"),
        ("UPCA", "042100005264", "gtin", "0042100005264"),
        ("UPCE", "04252614", "gtin", "0042100005264"),
        ("Code128", "MODE:CONSUME", "mode", None),
        ("QRCode", "SHOP-4711", "code", "SHOP-4711"),
    ],
)
def test_zxing_round_trip(format_name: str, text: str, kind: str, key: str | None) -> None:
    image = zxingcpp.create_barcode(text, getattr(zxingcpp.BarcodeFormat, format_name))
    symbology, decoded = _read(image.to_image(scale=4))
    scan = parse_scan(symbology + decoded)
    assert (scan.kind, scan.code) == (kind, key)


def test_gs1_datamatrix_round_trip() -> None:
    payload = "0104006381333931" + "17270315" + "10LOT42"
    encoder = DataMatrixEncoder(FNC1 + payload + FNC1 + "3103000500")
    symbology, decoded = _read(Image.open(io.BytesIO(encoder.get_imagedata(cellsize=4))))
    assert symbology == "]d2"
    assert symbology + decoded == NOTES_EXAMPLE
    assert parse_scan(symbology + decoded) == parse_scan(NOTES_EXAMPLE)
