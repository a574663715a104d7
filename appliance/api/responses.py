"""Small JSON response helpers."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def ok(data: Any, status: int = 200) -> web.Response:
    """A JSON response."""
    return web.Response(
        status=status, text=json.dumps(data, ensure_ascii=False), content_type="application/json"
    )


def raw_list(items_json: str, count: int | None = None) -> web.Response:
    """``{"items": [...], "count": n}`` around a JSON array text built by SQLite."""
    count_part = "" if count is None else f',"count":{count}'
    return web.Response(
        text='{"items":' + items_json + count_part + "}", content_type="application/json"
    )


def no_content() -> web.Response:
    """204."""
    return web.Response(status=204)
