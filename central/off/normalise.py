"""Turn an OFF v2 product response into the product fields central stores (pure, no I/O).

OFF's quirks handled here: ``status: 0`` means not found; ``product_name`` can be empty while a
localized ``product_name_<lang>`` is set; ``product_quantity`` is a number or a string; text can
carry HTML entities; ``nutriscore_grade`` can be ``unknown`` or ``not-applicable``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from central.off.quantity import parse_product_quantity, parse_quantity
from central.off.result import OffResult, OffStatus

# The fields requested from OFF, in the order of the ``fields=`` parameter.
OFF_FIELDS: tuple[str, ...] = (
    "code",
    "product_name",
    "product_name_de",
    "product_name_en",
    "brands",
    "quantity",
    "product_quantity",
    "product_quantity_unit",
    "categories_tags",
    "image_front_url",
    "image_url",
    "nutriscore_grade",
    "lang",
)

_NAME_FALLBACK_LANGS = ("de", "en")
_LOCALIZED_NAME_RE = re.compile(r"^product_name_([a-z]{2,3})$")
_NUTRISCORE_GRADES = frozenset("abcde")
_MAX_TEXT = 500
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: Any) -> str | None:
    """A cleaned text field: entities decoded, control characters and runs of whitespace
    collapsed, empty as ``None``."""
    if not isinstance(value, str):
        return None
    cleaned = " ".join(_CONTROL_RE.sub(" ", html.unescape(value)).split())
    return cleaned[:_MAX_TEXT] or None


def product_name(product: Mapping[str, Any]) -> str | None:
    """``product_name``, else the product's own language, then German, English, any other."""
    name = _text(product.get("product_name"))
    if name:
        return name
    lang = product.get("lang") or product.get("lc")
    order = [lang] if isinstance(lang, str) else []
    order += [code for code in _NAME_FALLBACK_LANGS if code not in order]
    for code in order:
        name = _text(product.get(f"product_name_{code}"))
        if name:
            return name
    for key in sorted(product):
        if _LOCALIZED_NAME_RE.match(key):
            name = _text(product[key])
            if name:
                return name
    return None


def brand(product: Mapping[str, Any]) -> str | None:
    """The first of OFF's comma-separated ``brands``."""
    text = _text(product.get("brands"))
    if not text:
        return None
    first = text.split(",")[0].strip()
    return first or None


def category(product: Mapping[str, Any]) -> str | None:
    """The most specific category, readable: ``en:long-grain-rices`` -> ``Long grain rices``.

    OFF lists ``categories_tags`` from general to specific; English tags are preferred because
    tags in other languages are often untranslated one-off entries.
    """
    tags = product.get("categories_tags")
    if not isinstance(tags, list):
        return None
    tags = [tag for tag in tags if isinstance(tag, str) and tag.strip()]
    if not tags:
        return None
    english = [tag for tag in tags if tag.startswith("en:")]
    tag = (english or tags)[-1]
    words = tag.split(":", 1)[-1].replace("-", " ").replace("_", " ")
    text = _text(words)
    return text[:1].upper() + text[1:] if text else None


def pack_size(product: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """Pack size and unit from ``quantity``, else from ``product_quantity`` and its unit."""
    parsed = parse_quantity(product.get("quantity")) or parse_product_quantity(
        product.get("product_quantity"), product.get("product_quantity_unit")
    )
    return parsed if parsed else (None, None)


def nutriscore(product: Mapping[str, Any]) -> str | None:
    """The Nutri-Score grade ``a``-``e``, or ``None`` (unknown, not applicable, missing)."""
    grade = product.get("nutriscore_grade")
    if not isinstance(grade, str):
        grade = product.get("nutrition_grades")  # the pre-2021 field name
    if isinstance(grade, str) and grade.strip().lower() in _NUTRISCORE_GRADES:
        return grade.strip().lower()
    return None


def image_url(product: Mapping[str, Any]) -> str | None:
    """The front image, else the main image; only http(s) URLs."""
    for key in ("image_front_url", "image_url"):
        url = product.get(key)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url.strip()
    return None


def normalise_product(product: Mapping[str, Any]) -> dict[str, Any]:
    """The product fields central stores and sends in ``product.updated``."""
    size, unit = pack_size(product)
    return {
        "name": product_name(product),
        "brand": brand(product),
        "pack_size": size,
        "unit": unit,
        "category": category(product),
        "image_url": image_url(product),
        "nutriscore": nutriscore(product),
    }


def off_subset(product: Mapping[str, Any]) -> dict[str, Any]:
    """The raw OFF fields we asked for (and localized names), kept for later re-normalising."""
    return {
        key: value
        for key, value in product.items()
        if key in OFF_FIELDS or _LOCALIZED_NAME_RE.match(key)
    }


def interpret_body(barcode: str, body: Any) -> OffResult:
    """The result for a decoded JSON body of a 200 (or 404) answer; never raises."""
    if not isinstance(body, Mapping):
        return OffResult.error(barcode, f"unexpected response: a JSON {type(body).__name__}")
    status = body.get("status")
    verbose = _text(body.get("status_verbose"))
    if status in (0, "0"):
        return OffResult.not_found(barcode, verbose or "product not found")
    product = body.get("product")
    if status not in (1, "1") or not isinstance(product, Mapping):
        return OffResult.error(barcode, f"unexpected response shape (status={status!r})")
    return OffResult(
        barcode,
        OffStatus.FOUND,
        product=normalise_product(product),
        off_data=off_subset(product),
    )
