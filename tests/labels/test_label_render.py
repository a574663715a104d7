"""The label's picture: golden PNGs (shipped fonts, 1-bit) and its DataMatrix read back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageChops

from appliance.core.grocy_ids import grocycode, stock_id
from appliance.core.lotcode import lot_code
from appliance.labels.content import LabelContent, amount_text, label_content
from appliance.labels.render import render_label
from appliance.labels.webhook import php_form

GOLDEN = Path(__file__).parent.parent / "golden"
LOT = "01936f6e-1a2b-7c3d-8e4f-5a6b7c8d9e0f"

LEFTOVERS: dict[str, Any] = {
    "id": LOT,
    "product_id": "01936f6e-0000-7000-8000-00000000beef",
    "amount": 0.75,
    "best_before": "2026-12-08",
    "purchased_on": "2026-12-01",
    "frozen_on": "2026-12-02",
    "opened_on": None,
    "note": "Sunday roast",
}
PRODUCT = {"name": "Bolognese-Soße mit Rinderhack", "unit": "kg"}


def assert_golden(image: Image.Image, name: str) -> None:
    """Compare with tests/golden/NAME.png; UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / f"{name}.png"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        image.save(path)
        return
    assert path.exists(), f"{path} is missing: run the tests with UPDATE_GOLDEN=1 once"
    expected = Image.open(path).convert("1")
    assert expected.size == image.size
    diff = ImageChops.difference(expected.convert("L"), image.convert("L")).getbbox()
    if diff is not None:
        image.save(path.with_suffix(".actual.png"))
    assert diff is None, f"{name} differs from the golden image in {diff} (see .actual.png)"


def read(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


#: A lot with a use-by date (GS1 AI 17) beside its best-before: the label shows the use-by.
FISH = {**LEFTOVERS, "use_by": "2026-12-05", "frozen_on": None}


@pytest.mark.parametrize(
    ("language", "size", "name", "lot"),
    [
        ("de", (732, 343), "label_62x29_de", LEFTOVERS),  # Brother DK-11209 at 300 dpi
        ("en", (343, 1063), "label_29x90_en", LEFTOVERS),  # DK-11201, portrait
        ("en", (394, 236), "label_50x30_200dpi_en", LEFTOVERS),  # a small label at 200 dpi
        ("de", (732, 343), "label_62x29_de_use_by", FISH),  # the longest date line
        ("en", (394, 236), "label_50x30_200dpi_en_use_by", FISH),
    ],
)
def test_label_matches_golden_and_reads_back(
    language: str, size: tuple[int, int], name: str, lot: dict[str, Any]
) -> None:
    content = label_content(lot, PRODUCT, language)
    image = render_label(content, *size, dpi=300 if "200dpi" not in name else 200)
    assert image.mode == "1" and image.size == size
    assert read(image) == [lot_code(LOT)]
    assert_golden(image, name)


def test_grocy_code_label_reads_back() -> None:
    code = grocycode(2147483647, stock_id(LOT))  # the longest code there can be
    content = label_content(LEFTOVERS, PRODUCT, "en", code=code)
    assert read(render_label(content, 732, 343, 300)) == [code]


def test_content_words_the_lot_for_each_language() -> None:
    de = label_content(LEFTOVERS, PRODUCT, "de")
    assert de == LabelContent(
        code=lot_code(LOT),
        product="Bolognese-Soße mit Rinderhack",
        amount="0,75 kg",
        best_before="MHD 08.12.2026",
        since="Eingefroren 02.12.2026",
        note="Sunday roast",
    )
    opened = label_content({**LEFTOVERS, "opened_on": "2026-12-03"}, PRODUCT, "en")
    assert opened.since == "Opened 2026-12-03"
    assert label_content(FISH, PRODUCT, "en").best_before == "Use by 2026-12-05"
    assert label_content(FISH, PRODUCT, "de").best_before == "Verbrauchen bis 05.12.2026"
    bare = label_content({"id": LOT, "amount": 2}, None, "en")
    assert (bare.product, bare.amount, bare.best_before, bare.since) == ("?", "2 pcs", None, None)
    assert amount_text("de", 6, "piece") == "6 Stk."


def test_php_form_nests_like_http_build_query() -> None:
    fields = php_form({"a": 1, "b": {"c": True, "d": None, "e": [1, "x"]}, "f": False})
    assert fields == [("a", "1"), ("b[c]", "1"), ("b[e][0]", "1"), ("b[e][1]", "x"), ("f", "0")]
