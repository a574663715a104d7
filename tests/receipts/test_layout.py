"""Boxes into rows (skew undone), photos joined without their overlap, drafts through JSON."""

from __future__ import annotations

import math
from decimal import Decimal

from central.receipts.draft import ReceiptDraft, ReceiptLine
from central.receipts.layout import Row, group_rows, rows_from_text, split_words
from central.receipts.read import join_parts, text_region


def box(x: float, y: float, w: float, h: float, angle_deg: float) -> list[tuple[float, float]]:
    """A text box turned by ``angle_deg`` around the origin (a skewed photo)."""
    a = math.radians(angle_deg)
    corners = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return [
        (cx * math.cos(a) - cy * math.sin(a), cx * math.sin(a) + cy * math.cos(a))
        for cx, cy in corners
    ]


def test_rows_of_a_photo_skewed_by_eight_degrees() -> None:
    # Name at the left and price at the right: 500 px apart, so 8° moves the price by 70 px,
    # more than two rows; undoing the median angle brings them back onto one row.
    lines = [("MILCH", "1,19"), ("BROT", "2,49"), ("BUTTER", "1,99"), ("SUMME", "5,67")]
    boxes = []
    for n, (name, price) in enumerate(lines):
        boxes.append((box(20, 40 * n, 120, 30, 8), name))
        boxes.append((box(520, 40 * n, 60, 30, 8), price))
    rows = group_rows(boxes)
    assert [r.text for r in rows] == [f"{a} {b}" for a, b in lines]


def test_rows_keep_apart_when_close() -> None:
    boxes = [
        (box(0, 0, 100, 20, 0), "A"),
        (box(200, 4, 50, 20, 0), "1,00"),
        (box(0, 22, 100, 20, 0), "B"),
        (box(200, 26, 50, 20, 0), "2,00"),
    ]
    assert [r.text for r in group_rows(boxes)] == ["A 1,00", "B 2,00"]


def test_split_words_shares_the_box_by_characters() -> None:
    words = split_words("AB 12,34", 0, 0, 80, 10)
    assert [w.text for w in words] == ["AB", "12,34"]
    assert words[1].x0 == 30 and words[1].x1 == 80


def rows(text: str) -> list[Row]:
    return rows_from_text(text)


def test_two_photos_with_an_overlap_count_each_row_once() -> None:
    first = rows("REWE\nEUR\nMILCH 1,19 B\nBROT 2,49 B\nBUTTER 1,99 B")
    second = rows("BROT 2,49 B\nBUTTER 1,99 B\nKAFFEE 5,99 B\nSUMME 11,66")
    joined = [r.text for r in join_parts([first, second])]
    assert joined == [
        "REWE",
        "EUR",
        "MILCH 1,19 B",
        "BROT 2,49 B",
        "BUTTER 1,99 B",
        "KAFFEE 5,99 B",
        "SUMME 11,66",
    ]


def test_overlap_tolerates_ocr_differences_and_a_cut_row() -> None:
    first = rows("MILCH 1,19 B\nBROT 2,49 B\nBUTTER 1,99 B\nKAF")
    second = rows("BR0T 2,49 B\nBUTTER 1,99 8\nKAFFEE 5,99 B\nSUMME 11,66")
    joined = [r.text for r in join_parts([first, second])]
    assert joined == [
        "MILCH 1,19 B",
        "BROT 2,49 B",
        "BUTTER 1,99 B",
        "KAFFEE 5,99 B",
        "SUMME 11,66",
    ]


def test_photos_without_overlap_are_concatenated() -> None:
    joined = join_parts([rows("A 1,00\nB 2,00"), rows("C 3,00\nSUMME 6,00")])
    assert len(joined) == 4


def test_draft_json_round_trip_keeps_amounts_exact() -> None:
    draft = ReceiptDraft(
        merchant="REWE",
        date="2026-11-04",
        time="18:12",
        total=Decimal("2.24"),
        payment="Bar",
        lines=[
            ReceiptLine("item", "JOGHURT", Decimal(2), "piece", Decimal("0.99"), Decimal("1.98")),
            ReceiptLine(
                "item", "BANANEN", Decimal("0.256"), "kg", Decimal("1.99"), Decimal("0.51")
            ),
            ReceiptLine("deposit", "LEERGUT", total=Decimal("-0.25"), vat="A"),
        ],
    ).check()
    assert draft.consistent and draft.lines_sum == Decimal("2.24")
    text = draft.to_json()
    assert '"1.98"' in text and '"0.256"' in text
    assert ReceiptDraft.from_json(text) == draft


def test_text_region_only_where_resolution_is_gained() -> None:
    boxes = [[(300.0, y), (500.0, y), (500.0, y + 20), (300.0, y + 20)] for y in (100, 140, 180)]
    assert text_region(boxes, (800, 1000), (4000, 5000)) == (1340, 340, 2660, 1160)
    assert text_region(boxes, (800, 1000), (1000, 1250)) is None  # barely larger: no gain
    wide = [[(20.0, y), (780.0, y), (780.0, y + 20), (20.0, y + 20)] for y in (100, 140, 180)]
    assert text_region(wide, (800, 1000), (4000, 5000)) is None  # the text fills the frame


def test_pages_of_a_text_pdf_are_never_taken_for_an_overlap() -> None:
    page = rows("----------\nMILCH 1,19 B")
    assert len(join_parts([page, page], [False, False])) == 4
    assert len(join_parts([page, page], [True, True])) == 2
