"""Normalising OFF product objects (pure): names, brands, quantities, categories, grades."""

from __future__ import annotations

from typing import Any

import pytest

from central.off.normalise import (
    brand,
    category,
    image_url,
    interpret_body,
    normalise_product,
    nutriscore,
    off_subset,
    product_name,
)
from central.off.quantity import parse_product_quantity, parse_quantity
from central.off.result import OffStatus


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        ({"product_name": " Langkorn  Reis ", "product_name_de": "Reis"}, "Langkorn Reis"),
        ({"product_name": "", "product_name_de": "Apfelschorle", "lang": "fr"}, "Apfelschorle"),
        # the product's own language wins over German and English
        (
            {
                "product_name": "",
                "product_name_fr": "Citronnade",
                "product_name_de": "Limo",
                "lang": "fr",
            },
            "Citronnade",
        ),
        (
            {"product_name": "", "product_name_en": "Tonic water", "product_name_de": ""},
            "Tonic water",
        ),
        ({"product_name": "", "product_name_sv": "Chokladflingor", "lang": "fi"}, "Chokladflingor"),
        ({"product_name": "Caf&eacute; &amp; Kuchen"}, "Café & Kuchen"),
        ({"product_name": "Limon & Nada"}, "Limon & Nada"),  # a raw & stays
        ({"brands": "Asda"}, None),
        ({"product_name": None, "product_name_de": 42}, None),
    ],
)
def test_product_name(product: dict[str, Any], expected: str | None) -> None:
    assert product_name(product) == expected


def test_brand_is_the_first_unescaped_brand() -> None:
    assert brand({"brands": "Lindt,Lindt &amp; Sprüngli"}) == "Lindt"
    assert brand({"brands": "M&uuml;hlbach &amp; S&ouml;hne, Mühlbach"}) == "Mühlbach & Söhne"
    assert brand({"brands": ""}) is None
    assert brand({}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500 g", (500.0, "g")),
        ("400g", (400.0, "g")),
        ("1,5 l", (1.5, "l")),
        ("1.5L", (1.5, "l")),
        ("6 x 0,33 l", (1.98, "l")),
        ("2x250g", (500.0, "g")),
        ("6 × 1,5 L", (9.0, "l")),
        ("33 cl", (330.0, "ml")),
        ("750 mL", (750.0, "ml")),
        ("125 g e", (125.0, "g")),
        ("125 g ℮", (125.0, "g")),
        ("1 kg", (1.0, "kg")),
        ("10 Stück", (10.0, "piece")),
        ("1pcs", (1.0, "piece")),
        ("500g (2x250g)", (500.0, "g")),
        ("24", None),
        ("about a handful", None),
        ("16 oz", None),
        ("0 g", None),
        ("", None),
        (None, None),
        (500, None),
    ],
)
def test_parse_quantity(text: Any, expected: tuple[float, str] | None) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (500, "g", (500.0, "g")),
        ("500", "g", (500.0, "g")),
        (330.0, "ml", (330.0, "ml")),
        ("1,5", "L", (1.5, "l")),
        ("0", "g", None),
        ("400", None, None),
        ("abc", "g", None),
        (True, "g", None),
        (float("nan"), "g", None),
    ],
)
def test_parse_product_quantity(amount: Any, unit: Any, expected: tuple[float, str] | None) -> None:
    assert parse_product_quantity(amount, unit) == expected


def test_pack_size_prefers_quantity_then_product_quantity() -> None:
    both = {"quantity": "1,5 l", "product_quantity": "1500", "product_quantity_unit": "ml"}
    only_number = {"quantity": "24", "product_quantity": 250, "product_quantity_unit": "g"}
    assert normalise_product(both)["pack_size"] == 1.5
    assert normalise_product(both)["unit"] == "l"
    number = normalise_product(only_number)
    assert (number["pack_size"], number["unit"]) == (250.0, "g")


def test_category_is_the_most_specific_english_tag() -> None:
    tags = ["en:beverages", "en:sweetened-beverages", "fr:citronnades"]
    assert category({"categories_tags": tags}) == "Sweetened beverages"
    assert category({"categories_tags": ["fr:pates-a-tartiner"]}) == "Pates a tartiner"
    assert category({"categories_tags": []}) is None
    assert category({"categories_tags": "en:milks"}) is None


@pytest.mark.parametrize(
    ("product", "expected"),
    [
        ({"nutriscore_grade": "b"}, "b"),
        ({"nutriscore_grade": "E"}, "e"),
        ({"nutriscore_grade": "unknown"}, None),
        ({"nutriscore_grade": "not-applicable"}, None),
        ({"nutrition_grades": "d"}, "d"),
        ({}, None),
    ],
)
def test_nutriscore(product: dict[str, Any], expected: str | None) -> None:
    assert nutriscore(product) == expected


def test_image_url_prefers_the_front_image_and_only_http() -> None:
    front = "https://images.openfoodfacts.org/images/products/401/234/500/0016/front_de.7.400.jpg"
    assert image_url({"image_front_url": front, "image_url": "https://x/y.jpg"}) == front
    assert image_url({"image_url": "https://x/y.jpg"}) == "https://x/y.jpg"
    assert image_url({"image_front_url": "javascript:alert(1)"}) is None


def test_off_subset_keeps_requested_and_localized_name_fields() -> None:
    product = {"code": "1", "product_name_fr": "x", "nova_group": 4, "ingredients_text": "y"}
    assert off_subset(product) == {"code": "1", "product_name_fr": "x"}


def test_interpret_body_statuses() -> None:
    found = interpret_body("4012345000016", {"status": 1, "product": {"product_name": "Milch"}})
    assert found.status is OffStatus.FOUND
    assert found.product is not None
    assert found.product["name"] == "Milch"
    invalid = {"code": "", "status": 0, "status_verbose": "no code or invalid code"}
    assert interpret_body("", invalid).reason == "no code or invalid code"
    assert interpret_body("1", None).status is OffStatus.ERROR
