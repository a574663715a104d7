"""What a valid name, text and date are: one set of rules for the API and for events.

The HTTP bodies (``appliance.api.bodies``) and the event validation (``appliance.core.events``)
both use these, so that an event arriving over MQTT cannot bring in what the API refuses.

- A *line* (product and location names, brand, category, unit, batch, image URL) holds no
  control character at all: not U+0000-U+001F, U+007F or U+0080-U+009F. A name also holds
  something other than white space.
- A *text* (notes) may hold line breaks and tabs, and no other control character.
- A *date* (best-before, opened, purchased) lies from ``FIRST_DATE`` to ``LAST_DATE``: a
  printed best-before is never outside that, and ``0001-01-01`` or ``9999-12-31`` are typing
  errors that would also break date arithmetic (``9999-12-31`` plus a day overflows).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

FIRST_DATE: Final = date(1970, 1, 1)
LAST_DATE: Final = date(2199, 12, 31)

_CONTROLS: Final = "\\x00-\\x1f\\x7f-\\x9f"
_TEXT_CONTROLS: Final = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"

#: The same rules as JSON Schema patterns (ECMA-262 syntax, which Python's ``re`` reads too).
LINE_PATTERN: Final = f"^[^{_CONTROLS}]*$"
NAME_PATTERN: Final = f"^[^{_CONTROLS}]*[^\\s{_CONTROLS}][^{_CONTROLS}]*$"
TEXT_PATTERN: Final = f"^[^{_TEXT_CONTROLS}]*$"

_LINE_BAD: Final = re.compile(f"[{_CONTROLS}]")
_TEXT_BAD: Final = re.compile(f"[{_TEXT_CONTROLS}]")


def line_problem(value: str) -> str | None:
    """Why ``value`` is not a valid line of text (None when it is)."""
    bad = _LINE_BAD.search(value)
    if bad is None:
        return None
    return f"must not contain control characters (found U+{ord(bad.group()):04X})"


def name_problem(value: str) -> str | None:
    """Why ``value`` is not a valid name: a line with something besides white space."""
    problem = line_problem(value)
    if problem is None and not value.strip():
        return "must not be empty or only white space"
    return problem


def text_problem(value: str) -> str | None:
    """Why ``value`` is not a valid text: line breaks and tabs are fine, other controls not."""
    bad = _TEXT_BAD.search(value)
    if bad is None:
        return None
    found = f"U+{ord(bad.group()):04X}"
    return f"must not contain control characters other than line breaks and tabs (found {found})"


def date_problem(value: date) -> str | None:
    """Why ``value`` is not a plausible date for stock (None when it is)."""
    if FIRST_DATE <= value <= LAST_DATE:
        return None
    return f"must be from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}"
