"""Amounts as exact integers of thousandths, so sums do not depend on the order of events.

Floating-point addition is not associative: summing the same deltas in another order can
give another total. Every amount is therefore stored as an ``int`` of milli-units.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

SCALE = 1000
MAX_AMOUNT = 10**9  # a billion units is not a kitchen


class AmountError(ValueError):
    """An amount that cannot be stored."""


def to_milli(value: object) -> int:
    """Convert a JSON number or numeric string to milli-units, rounding to 3 decimals."""
    # The common cases (a count, a whole number from JSON), without a trip through Decimal.
    if type(value) is int and -MAX_AMOUNT <= value <= MAX_AMOUNT:
        return value * SCALE
    if type(value) is float and value.is_integer() and -MAX_AMOUNT <= value <= MAX_AMOUNT:
        return int(value) * SCALE
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise AmountError("amount must be a number")
    try:
        dec = Decimal(str(value))
    except InvalidOperation:
        raise AmountError(f"amount {value!r} is not a number") from None
    if not dec.is_finite():
        raise AmountError("amount must be finite")
    if abs(dec) > MAX_AMOUNT:
        raise AmountError(f"amount must be at most {MAX_AMOUNT}")
    return int((dec * SCALE).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_milli(milli: int) -> float:
    """Convert milli-units back to a number for display and JSON."""
    return milli / SCALE if milli % SCALE else float(milli // SCALE)


#: Units that count things (a scan is one of them), as the web app's ``isCountUnit`` reads them.
COUNT_UNITS = frozenset({"pcs", "piece", "pieces", "pc", "stk", "pack"})


def is_count_unit(unit: str | None) -> bool:
    """Whether ``unit`` counts things (no unit at all counts pieces)."""
    return not unit or unit.lower() in COUNT_UNITS


#: A weight or volume a barcode can carry (GS1 net weight), and its factor to g or ml.
_MEASURES = {"g": ("g", 1), "kg": ("g", 1000), "ml": ("ml", 1), "l": ("ml", 1000)}


def scan_amount(
    unit: str | None,
    pack_size: float | None,
    net_weight: float | Decimal | None = None,
    net_weight_unit: str | None = None,
) -> float:
    """How much one scanned pack is, in the product's unit.

    A product counted in pieces (or packs) is one. One measured in g, ml, kg or l is the net
    weight the barcode carries (a variable-measure cheese: 0.456 kg is 456 g), else its pack
    size (a carton of milk is 1,000 ml, not 1 ml), else one of its unit.
    """
    if unit is None or is_count_unit(unit):
        return 1
    own = _MEASURES.get(unit.lower())
    given = _MEASURES.get((net_weight_unit or "").lower())
    if own and given and net_weight and net_weight > 0 and own[0] == given[0]:
        return from_milli(to_milli(Decimal(str(net_weight)) * given[1] / own[1]))
    if pack_size and pack_size > 0:
        return float(pack_size)
    return 1
