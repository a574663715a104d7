"""The household's state messages for Home Assistant (pure): a count and a capped list.

Home Assistant keeps a state of at most 255 characters and drops attributes over 16 KiB, so
a state message is built to stay far below: at most ``max_items`` items, names cut to
``NAME_LIMIT`` characters, and fewer items until the JSON fits ``MAX_STATE_BYTES``. What was
left out is counted in ``more``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

#: Home Assistant's limits (``homeassistant.const.MAX_LENGTH_STATE_STATE`` and the recorder's
#: ``MAX_STATE_ATTRS_BYTES``).
HA_MAX_STATE_CHARS: Final = 255
HA_MAX_ATTRIBUTES_BYTES: Final = 16 * 1024
#: Our own bound for one message, a quarter of what HA would still take.
MAX_STATE_BYTES: Final = 4 * 1024
NAME_LIMIT: Final = 60
DEFAULT_MAX_ITEMS: Final = 20


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    name = raw.get("name")
    item: dict[str, Any] = {"name": str(name)[:NAME_LIMIT] if name else "?"}
    for key in ("date", "amount", "min", "location"):
        value = raw.get(key)
        if isinstance(value, str):
            item[key] = value[:NAME_LIMIT]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            item[key] = value
    return item


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def state_message(
    count: int, items: Iterable[Mapping[str, Any]], max_items: int = DEFAULT_MAX_ITEMS
) -> bytes:
    """``{"count", "items": [{"name", "date"?, "amount"?, "min"?, "location"?}], "more"}`` within
    ``MAX_STATE_BYTES``."""
    listed = [_item(raw) for _, raw in zip(range(max_items), items, strict=False)]
    count = max(int(count), 0)
    while True:
        payload = _encode({"count": count, "items": listed, "more": max(count - len(listed), 0)})
        if len(payload) <= MAX_STATE_BYTES or not listed:
            return payload
        listed = listed[: len(listed) // 2] if len(listed) > 1 else []
