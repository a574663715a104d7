"""Lot codes: the text of a printed label's DataMatrix, naming exactly one lot.

``LOT:`` followed by the lot's 128-bit id in Crockford base 32, 26 characters, e.g.
``LOT:01JDZ6Q8X9K2M3N4P5R6S7T8VW``. Why this shape:

* **Unambiguous.** It starts with letters and a colon, so it is never read as a GTIN (digits
  only), a GS1 element string (digits, brackets or a group separator), a GS1 Digital Link
  (a URL) or a mode barcode (``MODE:``).
* **Case-insensitive.** Crockford's alphabet has no lower case and leaves out I, L, O and U:
  a keyboard-wedge scanner with Caps Lock on, or a person typing it, cannot make two codes
  read alike. Reading folds case and takes ``I``/``L`` as 1 and ``O`` as 0.
* **Offline.** The code *is* the lot id, so every node reads it without a lookup table, and
  a label printed on one node works on all of them once the lot has synced.
* **Small.** 30 characters (upper case, digits and one colon) fit a 22x22 DataMatrix.

The 26 characters carry 130 bits, so the first one is at most 7. A misread that still
matches the pattern names a lot that does not exist: the scan says so.
"""

from __future__ import annotations

import re
import uuid

__all__ = [
    "LOT_PREFIX", "LotCodeError", "is_lot_code", "label_scan_amount", "lot_code",
    "lot_id_from_code",
]  # fmt: skip

LOT_PREFIX = "LOT:"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {char: value for value, char in enumerate(_ALPHABET)} | {"I": 1, "L": 1, "O": 0}
_LENGTH = 26
_SHAPE = re.compile(r"lot:(.*)", re.IGNORECASE | re.DOTALL)


class LotCodeError(ValueError):
    """Text that starts like a lot code but is not one; the message is for the person."""


def lot_code(lot_id: str) -> str:
    """The label code of the lot with id ``lot_id`` (a UUID)."""
    value = uuid.UUID(lot_id).int
    chars = []
    for _ in range(_LENGTH):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return LOT_PREFIX + "".join(reversed(chars))


def is_lot_code(text: str) -> bool:
    """Whether ``text`` claims to be a lot code (its prefix, in any case)."""
    return _SHAPE.fullmatch(text) is not None


def lot_id_from_code(text: str) -> str | None:
    """The lot id a code names; None if ``text`` is not a lot code at all.

    Raises ``LotCodeError`` when it starts with ``LOT:`` but the rest is not 26 characters
    of the alphabet, so a damaged label gets a clear answer instead of "unknown product".
    """
    match = _SHAPE.fullmatch(text)
    if match is None:
        return None
    body = match.group(1).strip().upper()
    if len(body) != _LENGTH:
        raise LotCodeError(
            f"A lot label's code has {_LENGTH} characters after {LOT_PREFIX}, but this one has "
            f"{len(body)}: the label may be damaged; please scan it again."
        )
    value = 0
    for position, char in enumerate(body, start=len(LOT_PREFIX) + 1):
        digit = _VALUE.get(char)
        if digit is None:
            raise LotCodeError(
                f"A lot label's code cannot contain {char!r} (position {position}): the label "
                "may be damaged; please scan it again."
            )
        value = value << 5 | digit
    if value >> 128:
        raise LotCodeError("This lot label's code is out of range: please scan it again.")
    return str(uuid.UUID(int=value))


def label_scan_amount(unit: str, milli: int) -> int | None:
    """What one scan of a lot's label takes or opens: 1 (piece), or None for the whole lot.

    A lot counted in pieces that holds more than one gives one piece per scan (six labelled
    portions in one lot); a lot by weight or volume, or a single piece, goes whole: a label
    on a jar of 400 g soup means the jar, not one gram of it.
    """
    return 1 if unit == "piece" and milli > 1000 else None
