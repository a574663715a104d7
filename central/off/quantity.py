"""Parse OFF's free-text ``quantity`` ("500 g", "1,5 l", "6 x 0,33 l") into a pack size and unit.

Pure functions. Units come out as one of ``g``, ``kg``, ``ml``, ``l`` or ``piece``; centilitres and
decilitres become millilitres. A multipack ("6 x 0,33 l") is its total contents (1.98 l). Anything
that cannot be read with confidence gives ``None`` rather than a guess.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal, InvalidOperation
from typing import Any

# unit spelling (lower case) -> (canonical unit, factor)
_UNITS: dict[str, tuple[str, Decimal]] = {
    "g": ("g", Decimal(1)),
    "gr": ("g", Decimal(1)),
    "grs": ("g", Decimal(1)),
    "gram": ("g", Decimal(1)),
    "grams": ("g", Decimal(1)),
    "gramm": ("g", Decimal(1)),
    "kg": ("kg", Decimal(1)),
    "kilo": ("kg", Decimal(1)),
    "kilogramm": ("kg", Decimal(1)),
    "ml": ("ml", Decimal(1)),
    "cl": ("ml", Decimal(10)),
    "dl": ("ml", Decimal(100)),
    "l": ("l", Decimal(1)),
    "lt": ("l", Decimal(1)),
    "ltr": ("l", Decimal(1)),
    "liter": ("l", Decimal(1)),
    "litre": ("l", Decimal(1)),
    "litres": ("l", Decimal(1)),
    "liters": ("l", Decimal(1)),
    "pc": ("piece", Decimal(1)),
    "pcs": ("piece", Decimal(1)),
    "piece": ("piece", Decimal(1)),
    "pieces": ("piece", Decimal(1)),
    "stück": ("piece", Decimal(1)),
    "stk": ("piece", Decimal(1)),
    "st": ("piece", Decimal(1)),
}

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_UNIT = r"([a-zäöüß]+)\.?"
_MULTI_RE = re.compile(rf"^(\d+)\s*[x×*]\s*{_NUMBER}\s*{_UNIT}(?![a-z])")
_SINGLE_RE = re.compile(rf"^{_NUMBER}\s*{_UNIT}(?![a-z])")

# Units OFF uses in ``product_quantity_unit``.
_PRODUCT_QUANTITY_UNITS = {"g", "kg", "ml", "l"}


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _as_float(value: Decimal) -> float:
    return float(round(value, 6))


def parse_quantity(text: Any) -> tuple[float, str] | None:
    """``"6 x 0,33 l"`` -> ``(1.98, "l")``; ``None`` when the text is not a plain quantity."""
    if not isinstance(text, str):
        return None
    # "125 g e" and "125 g ℮": the EU estimated sign is not part of the unit.
    cleaned = html.unescape(text).strip().lower().replace("℮", "").strip()
    if not cleaned:
        return None
    count = Decimal(1)
    match = _MULTI_RE.match(cleaned)
    if match:
        count = Decimal(match.group(1))
        number, unit = match.group(2), match.group(3)
    else:
        match = _SINGLE_RE.match(cleaned)
        if not match:
            return None
        number, unit = match.group(1), match.group(2)
    amount = _decimal(number)
    known = _UNITS.get(unit)
    if amount is None or known is None or count <= 0:
        return None
    canonical, factor = known
    return _as_float(count * amount * factor), canonical


def parse_product_quantity(amount: Any, unit: Any) -> tuple[float, str] | None:
    """OFF's parsed ``product_quantity`` (a number or a numeric string) with its unit.

    ``"0"`` and a missing unit mean "unknown": OFF stores grams or millilitres there, and without
    the unit the two cannot be told apart.
    """
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        return None
    value = _decimal(str(amount).strip())
    if value is None or not isinstance(unit, str):
        return None
    unit = unit.strip().lower()
    if unit not in _PRODUCT_QUANTITY_UNITS:
        return None
    return _as_float(value), unit
