"""Real OCR on synthetic receipts: straight, skewed and blurred, upside down, in two photos,
turned by EXIF, as scanned and text PDFs, as HEIC; and the inputs that are not receipts."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from PIL import Image, ImageFilter

from central.receipts.draft import ReadFailed, ReceiptDraft
from central.receipts.read import Reading
from tests.receipts.synth import (
    ALDI_LAYOUT,
    REWE_LAYOUT,
    Style,
    bend,
    encode,
    image_pdf,
    photo,
    render,
    split,
    text_pdf,
)

REWE_TOTALS = ["1.19", "1.98", "1.34", "-0.25"]


def totals(draft: ReceiptDraft) -> list[str]:
    return [str(line.total) for line in draft.lines]


def assert_rewe(draft: ReceiptDraft) -> None:
    assert draft.total == Decimal("4.26")
    assert totals(draft) == REWE_TOTALS
    assert draft.consistent
    assert [line.kind for line in draft.lines] == ["item", "item", "item", "deposit"]
    assert (draft.lines[1].quantity, draft.lines[1].unit_price) == (2, Decimal("0.99"))
    assert (draft.lines[2].quantity, draft.lines[2].unit) == (Decimal("0.670"), "kg")
    assert draft.merchant == "REWE"


def test_straight_photo(reading: Reading) -> None:
    draft = reading.read([("image/jpeg", encode(photo(render(REWE_LAYOUT))))])
    assert_rewe(draft)
    assert (draft.date, draft.time, draft.payment) == ("2026-11-04", "18:12", "Bar")
    assert draft.source == "ocr"


def test_skewed_and_blurred_photo(reading: Reading) -> None:
    image = photo(render(REWE_LAYOUT), angle=-8, blur=1.2)
    assert_rewe(reading.read([("image/jpeg", encode(image, quality=70))]))


def test_curled_receipt_keeps_names_and_amounts_together(reading: Reading) -> None:
    # The middle sits 20 px (more than half a line) lower than the edges: the name and its
    # amount are at different heights, the text lines' own slopes join them again.
    assert_rewe(reading.read([("image/jpeg", encode(photo(bend(render(REWE_LAYOUT), 20))))]))


def test_small_receipt_in_a_large_photo_is_read_at_its_own_resolution(reading: Reading) -> None:
    # The receipt is a quarter of a 31-megapixel frame: shrunk whole to 800 px, its print
    # would be 200 px wide; its part of the photo is read instead.
    receipt = render(REWE_LAYOUT, Style(width=1200, size=48))
    frame = Image.new("RGB", (4800, 6400), (120, 120, 115))
    frame.paste(receipt, (1800, 2400))
    assert_rewe(reading.read([("image/jpeg", encode(frame, quality=85))]))


def test_upside_down_photo_is_turned_round(reading: Reading) -> None:
    image = photo(render(REWE_LAYOUT), angle=180)
    assert_rewe(reading.read([("image/jpeg", encode(image))]))


def test_two_overlapping_photos_are_one_receipt(reading: Reading) -> None:
    top, bottom = split(render(REWE_LAYOUT), 2, overlap=110)
    draft = reading.read(
        [("image/jpeg", encode(photo(top))), ("image/jpeg", encode(photo(bottom)))]
    )
    assert_rewe(draft)  # the rows both photos show are counted once


def test_exif_orientation_is_applied_first_and_aldi_prints_quantities_above(
    reading: Reading,
) -> None:
    # The camera stored the pixels turned; the EXIF tag says how to show them.
    upright = photo(render(ALDI_LAYOUT), angle=3)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90° clockwise
    data = encode(upright.rotate(90, expand=True), "JPEG", exif=exif.tobytes())
    draft = reading.read([("image/jpeg", data)])
    assert draft.merchant == "ALDI"
    assert totals(draft) == ["2.29", "2.67", "5.99", "0.25"]
    assert draft.lines[1].quantity == 3 and draft.lines[0].quantity is None
    assert draft.lines[3].kind == "deposit"
    assert draft.total == Decimal("11.20") and draft.consistent


def test_text_pdf_is_read_without_ocr() -> None:
    lines = [f"{left:<28}{right:>10}" for left, right in REWE_LAYOUT]

    def no_ocr() -> None:
        raise AssertionError("a text PDF must not need OCR")

    draft = Reading(engine_factory=no_ocr).read([("application/pdf", text_pdf(lines))])  # type: ignore[arg-type]
    assert_rewe(draft)
    assert draft.source == "pdf-text"


def test_scanned_pdf_goes_through_ocr(reading: Reading) -> None:
    draft = reading.read([("application/pdf", image_pdf(render(REWE_LAYOUT)))])
    assert_rewe(draft)
    assert draft.source == "ocr"


def test_heic_photo_of_a_receipt_in_another_currency(reading: Reading) -> None:
    # Decided: a receipt in another currency is read, with its currency named.
    import pillow_heif

    pillow_heif.register_heif_opener()
    layout = [("Migros Zürich", ""), ("BROT", "3,50"), ("KÄSE", "7,20"), ("TOTAL CHF", "10,70")]
    draft = reading.read([("image/heic", encode(photo(render(layout)), "HEIF", quality=90))])
    assert draft.currency == "CHF"
    assert draft.total == Decimal("10.70") and totals(draft) == ["3.50", "7.20"]


def test_a_photo_of_a_cat_has_no_text(reading: Reading) -> None:
    rng = np.random.default_rng(7)
    fur = Image.fromarray((rng.random((480, 640, 3)) * 255).astype("uint8"))
    with pytest.raises(ReadFailed, match="no text found"):
        reading.read([("image/jpeg", encode(fur.filter(ImageFilter.GaussianBlur(3))))])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04" + b"\x00" * 100, "ZIP archive"),
        (encode(render(REWE_LAYOUT))[:2000], "truncated"),
        (b"%PDF-1.4\nnonsense\n%%EOF", "damaged"),
    ],
)
def test_bad_files_fail_with_the_upload_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ReadFailed, match=reason):
        Reading().read([("image/jpeg", data)])


def test_no_files() -> None:
    with pytest.raises(ReadFailed, match="no file"):
        Reading().read([])


def test_ocr_missing_still_reads_text_pdfs() -> None:
    def broken() -> None:
        raise ImportError("No module named 'rapidocr'")

    reading = Reading(engine_factory=broken)  # type: ignore[arg-type]
    with pytest.raises(ReadFailed, match="OCR is unavailable"):
        reading.read([("image/jpeg", encode(photo(render(REWE_LAYOUT))))])
    lines = [f"{left:<28}{right:>10}" for left, right in REWE_LAYOUT]
    assert reading.read([("application/pdf", text_pdf(lines))]).total == Decimal("4.26")


def test_heic_without_its_decoder_is_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import pillow_heif

    pillow_heif.register_heif_opener()
    data = encode(Image.new("RGB", (320, 240), "white"), "HEIF")
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if it were not installed
    with pytest.raises(ReadFailed, match="HEIC photos cannot be read here"):
        Reading().read([("image/heic", data)])
