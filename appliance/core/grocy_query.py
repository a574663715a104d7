"""Grocy's generic list parameters: ``query[]`` conditions, ``order``, ``limit``, ``offset``.

``GET /objects/{entity}?query[]=name~milk&order=name:desc&limit=10`` filters rows the way
Grocy's SQL would: ``=`` ``!=`` ``<`` ``>`` ``<=`` ``>=`` compare (as numbers when both
sides are numbers), ``~`` / ``!~`` contain or not (case-insensitive, as SQLite's LIKE), ``§``
matches a regular expression. Pure: the rows are already Grocy's dicts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Longest operators first, so "<=" is not read as "<" followed by "=value".
_CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(!=|!~|<=|>=|=|~|<|>|§)(.*)$", re.DOTALL)
MAX_CONDITIONS = 20
MAX_PATTERN = 200


class QueryError(ValueError):
    """A condition, order or paging value Grocy would not accept either."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``query[]`` condition."""

    field: str
    op: str
    value: str


def parse_conditions(raw: Sequence[str]) -> list[Condition]:
    """Read ``query[]`` values; raises ``QueryError`` naming the bad one."""
    if len(raw) > MAX_CONDITIONS:
        raise QueryError(f"at most {MAX_CONDITIONS} query[] conditions")
    conditions = []
    for text in raw:
        match = _CONDITION.match(text)
        if match is None:
            raise QueryError(f"query[] condition {text[:80]!r} is not field<operator>value")
        conditions.append(Condition(match[1], match[2], match[3]))
    return conditions


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare(row_value: Any, wanted: str) -> int:
    left, right = _as_number(row_value), _as_number(wanted)
    if left is not None and right is not None and not isinstance(row_value, str):
        return (left > right) - (left < right)
    a, b = _text(row_value), wanted
    return (a > b) - (a < b)


def _matcher(condition: Condition) -> Callable[[Mapping[str, Any]], bool]:
    name, op, wanted = condition.field, condition.op, condition.value
    if op in ("~", "!~"):
        needle = wanted.casefold()
        negate = op == "!~"
        return lambda row: (needle in _text(row.get(name)).casefold()) != negate
    if op == "§":
        if len(wanted) > MAX_PATTERN:
            raise QueryError(f"a § pattern may have at most {MAX_PATTERN} characters")
        try:
            pattern = re.compile(wanted)
        except re.error as exc:
            raise QueryError(f"query[] pattern {wanted[:80]!r}: {exc}") from None
        return lambda row: pattern.search(_text(row.get(name))) is not None
    tests: dict[str, Callable[[int], bool]] = {
        "=": lambda c: c == 0,
        "!=": lambda c: c != 0,
        "<": lambda c: c < 0,
        ">": lambda c: c > 0,
        "<=": lambda c: c <= 0,
        ">=": lambda c: c >= 0,
    }
    test = tests[op]
    return lambda row: test(_compare(row.get(name), wanted))


def _sort_key(value: Any) -> tuple[int, float, str]:
    if value is None:
        return (0, 0.0, "")
    number = _as_number(value) if not isinstance(value, str) else None
    if number is not None:
        return (1, number, "")
    return (2, 0.0, _text(value).casefold())


def select(
    rows: Iterable[Mapping[str, Any]],
    *,
    conditions: Sequence[str] = (),
    order: str | None = None,
    limit: str | None = None,
    offset: str | None = None,
    fields: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Filter, order and page ``rows``; ``fields`` are the names a condition may use
    (all keys of the rows when empty)."""
    items = [dict(row) for row in rows]
    known = set(fields) or {key for row in items for key in row}
    parsed = parse_conditions(conditions)
    for condition in parsed:
        if known and condition.field not in known:
            raise QueryError(f"no field {condition.field!r} to filter on")
    matchers = [_matcher(condition) for condition in parsed]
    items = [row for row in items if all(match(row) for match in matchers)]
    if order:
        name, _, direction = order.partition(":")
        direction = direction.lower() or "asc"
        if direction not in ("asc", "desc"):
            raise QueryError(f"order direction {direction[:20]!r} is neither asc nor desc")
        if known and name not in known:
            raise QueryError(f"no field {name[:80]!r} to order by")
        items.sort(key=lambda row: _sort_key(row.get(name)), reverse=direction == "desc")
    start = _count(offset, "offset")
    size = _count(limit, "limit")
    if start:
        items = items[start:]
    if size is not None:
        items = items[:size]
    return items


def _count(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise QueryError(f"{name} must be a whole number of at most 9 digits")
    return int(text)
