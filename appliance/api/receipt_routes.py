"""Receipts on the node: capture (202 at once, kept durably), and this node's view of them.

The list and the details come from the node's own SQLite (what central broadcast), so they work
while central is away; reading and confirming happen on central.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from appliance.api.ids import path_id
from appliance.api.keys import CONFIG
from appliance.api.problem import problem
from appliance.api.registry import Api, read_query
from appliance.api.responses import no_content, ok
from appliance.receipts.book import ReceiptBook
from appliance.receipts.upload import UploadError, receive_files
from appliance.services.errors import NotFound

api = Api()
RECEIPTS = web.AppKey("receipts", ReceiptBook)

Status = Literal["queued", "processing", "completed", "failed", "confirmed"]

UPLOAD_BODY = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "array",
                    "items": {"type": "string", "format": "binary"},
                    "description": "JPEG, PNG, HEIC or PDF; several photos form one receipt",
                }
            },
        },
        "encoding": {"file": {"contentType": "image/*, application/pdf"}},
    }
}
IMAGE_REPLY = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("image/jpeg", "image/png", "image/heic", "application/pdf")
}


class ReceiptQuery(BaseModel):
    """Filters of the receipt list."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None


class ImageQuery(BaseModel):
    """Which file of a receipt."""

    model_config = ConfigDict(extra="forbid")

    index: int = 0


@api.route(
    "POST",
    "/api/receipts",
    "Capture a receipt (photos or a PDF); read on central",
    tag="receipts",
    status=202,
    body_content=UPLOAD_BODY,
    responses={413: "Too large or too many files", 415: "Not multipart/form-data"},
)
async def capture_receipt(request: web.Request) -> web.StreamResponse:
    """Keep the upload durably and answer at once; it goes to central when reachable."""
    book = request.app[RECEIPTS]
    limits = request.app[CONFIG].receipts
    try:
        files = await receive_files(request, book.incoming, limits)
    except UploadError as exc:
        return problem(exc.status, exc.title, exc.detail)
    except OSError as exc:
        return problem(507, "Insufficient storage", f"the receipt could not be stored: {exc}")
    view = await book.capture(files)
    return ok({"id": view["id"], "status": view["status"]}, 202)


@api.route("GET", "/api/receipts", "Receipts of the household", tag="receipts", query=ReceiptQuery)
async def list_receipts(request: web.Request) -> web.StreamResponse:
    """Every receipt this node knows, newest first (its own and what central broadcast)."""
    q = read_query(request, ReceiptQuery)
    return ok({"items": await request.app[RECEIPTS].views(q.status)})


@api.route("GET", "/api/receipts/{id}", "One receipt with its lines", tag="receipts")
async def get_receipt(request: web.Request) -> web.StreamResponse:
    """Status, merchant, date, total, the lines, the consistency flag, the error if failed."""
    receipt_id = path_id(request)
    view = await request.app[RECEIPTS].get(receipt_id)
    if view is None:
        raise NotFound(f"receipt {receipt_id} does not exist")
    return ok(view)


@api.route(
    "GET",
    "/api/receipts/{id}/image",
    "A photo or the PDF of a receipt",
    tag="receipts",
    query=ImageQuery,
    reply_content=IMAGE_REPLY,
)
async def receipt_image(request: web.Request) -> web.StreamResponse:
    """The file as captured (``?index=`` for a receipt of several photos)."""
    receipt_id = path_id(request)
    q = read_query(request, ImageQuery)
    book = request.app[RECEIPTS]
    if await book.get(receipt_id) is None:
        raise NotFound(f"receipt {receipt_id} does not exist")
    files = {f.index: f for f in await book.files(receipt_id)}
    stored = files.get(q.index)
    if stored is None:
        raise NotFound(
            f"file {q.index} of receipt {receipt_id} is not on this node"
            " (a receipt's files stay on the node that took it and on central)"
        )
    return web.FileResponse(stored.path, headers={"Content-Type": stored.content_type})


@api.route("DELETE", "/api/receipts/{id}", "Delete a receipt", tag="receipts", status=204)
async def delete_receipt(request: web.Request) -> web.StreamResponse:
    """Remove it here at once; central (and so every node) follows when reachable."""
    receipt_id = path_id(request)
    if not await request.app[RECEIPTS].delete(receipt_id):
        raise NotFound(f"receipt {receipt_id} does not exist")
    return no_content()
