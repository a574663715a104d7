"""Small JSON response helpers."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from aiohttp import web

log = logging.getLogger(__name__)


def json_bytes(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON.

    orjson, several times faster than ``json`` (every scan's answer and message pays it);
    what orjson refuses (an integer beyond 64 bits) goes through ``json`` instead.
    """
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def ok(data: Any, status: int = 200) -> web.Response:
    """A JSON response."""
    return web.Response(
        status=status, body=json_bytes(data), content_type="application/json", charset="utf-8"
    )


async def send_parts(request: web.Request, parts: Sequence[bytes]) -> web.StreamResponse:
    """A JSON response written part by part, for answers of megabytes.

    ``web.Response`` would need them joined, and aiohttp joins the headers with the body
    again before writing (on Python before 3.12.9): each a fresh copy of the whole answer.
    Here the headers go out with the small first part and each big part as it is.
    A client that leaves halfway is no error: aiohttp ends the connection, as it does for
    any answer (and nothing is logged, or each download broken off would be a traceback).
    """
    response = web.StreamResponse()
    response.content_type = "application/json"
    response.charset = "utf-8"
    response.content_length = sum(len(part) for part in parts)
    await response.prepare(request)
    try:
        for part in parts:
            await response.write(part)
    except ConnectionError:
        log.debug("%s %s: the client left before the answer was sent", request.method,
                  request.path_qs[:200])  # fmt: skip
    return response  # aiohttp's write_eof ends it


def no_content() -> web.Response:
    """204."""
    return web.Response(status=204)
