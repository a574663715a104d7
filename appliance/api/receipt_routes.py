"""Receipts on the node: capture (202 at once, kept durably), and this node's view of them.

The list and the details come from the node's own SQLite (what central broadcast), so they work
while central is away; reading and confirming happen on central.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from aiohttp import web

from appliance.api.bodies import Query
from appliance.api.ids import path_id
from appliance.api.keys import CONFIG, KITCHEN
from appliance.api.problem import problem
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import no_content, ok
from appliance.receipts.book import ReceiptBook
from appliance.receipts.edits import LineEdit, ReceiptPatch
from appliance.receipts.prices import mark_stock, price_history
from appliance.receipts.upload import UploadError, receive_files
from appliance.services import inventory
from appliance.services.errors import Conflict, NotFound
from appliance.store import queries

api = Api()
RECEIPTS = web.AppKey("receipts", ReceiptBook)

#: A line's number on a receipt (ReceiptPatch allows up to 500 lines).
_LINE_INDEX = re.compile(r"[0-9]|[1-9][0-9]{1,2}")

Status = Literal["queued", "processing", "completed", "failed", "confirmed"]

UPLOAD_BODY = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "additionalProperties": False,
            "properties": {
                "file": {
                    "type": "array",
                    "minItems": 1,
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


class ReceiptQuery(Query):
    """Filters of the receipt list."""

    status: Status | None = None


class ImageQuery(Query):
    """Which file of a receipt."""

    index: int = 0


@api.route(
    "POST",
    "/api/receipts",
    "Capture a receipt (photos or a PDF); read on central",
    tag="receipts",
    status=202,
    body_content=UPLOAD_BODY,
    responses={413: "Too large or too many files", 415: "Not multipart/form-data"},
    # Random bytes are valid per the schema and are not a photo or a PDF.
    content_refusals=(413, 415, 422),
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
    if view.get("status") == "confirmed":
        await mark_stock(request.app[KITCHEN].store.reader, view)
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


async def _ask_central(
    request: web.Request, receipt_id: str, action: str, body: dict[str, Any]
) -> web.StreamResponse:
    book = request.app[RECEIPTS]
    if await book.get(receipt_id) is None:
        raise NotFound(f"receipt {receipt_id} does not exist")
    remote = book.remote
    if remote is None:
        return problem(503, "Central unavailable", "sync is off: receipts are reviewed on central")
    try:
        answer = await remote.review(receipt_id, action, body)
    except (ConnectionError, TimeoutError) as exc:  # NotConnected is a ConnectionError
        return problem(
            503,
            "Central unavailable",
            f"central cannot be reached right now ({exc}); the receipt is kept, try again later",
            headers={"Retry-After": "10"},
        )
    if answer.status >= 400:
        detail = str(answer.body.get("detail") or "refused by central")
        return problem(answer.status, str(answer.body.get("title") or "Refused"), detail)
    if action == "patch" or "receipt" in answer.body:
        view = answer.body.get("receipt", answer.body)
        if isinstance(view, dict) and view.get("id") == receipt_id:
            await book.apply_state(view)  # the node shows it at once, not after the broadcast
    return ok(answer.body)


@api.route(
    "PATCH",
    "/api/receipts/{id}",
    "Fix a read receipt (asks central)",
    tag="receipts",
    body=ReceiptPatch,
    responses={503: "Central unreachable"},
)
async def patch_receipt(request: web.Request) -> web.StreamResponse:
    """Fix the merchant, date, total or lines (product, amount, location, best-before, skip),
    or add lines the reading missed; central keeps the receipt."""
    receipt_id = path_id(request)
    body = await read_body(request, ReceiptPatch)
    return await _ask_central(
        request, receipt_id, "patch", body.model_dump(mode="json", exclude_unset=True)
    )


@api.route(
    "PATCH",
    "/api/receipts/{id}/lines/{index}",
    "Fix one line of a read receipt (asks central)",
    tag="receipts",
    body=LineEdit,
    responses={503: "Central unreachable"},
    path_params={"index": {"type": "integer", "minimum": 0, "maximum": 499}},
)
async def patch_line(request: web.Request) -> web.StreamResponse:
    """One line's product, amount, location, best-before or skip."""
    receipt_id = path_id(request)
    raw = request.match_info["index"]
    # ASCII digits only: str.isdigit() also takes '²', which int() then refuses.
    if not _LINE_INDEX.fullmatch(raw) or int(raw) >= 500:
        raise NotFound(f"line {raw!r} does not exist")
    edit = await read_body(request, LineEdit)
    line = {"index": int(raw), **edit.model_dump(mode="json", exclude_unset=True)}
    return await _ask_central(request, receipt_id, "patch", {"lines": [line]})


@api.route(
    "POST",
    "/api/receipts/{id}/confirm",
    "Confirm a receipt: its lines go into stock (asks central)",
    tag="receipts",
    responses={503: "Central unreachable"},
)
async def confirm_receipt(request: web.Request) -> web.StreamResponse:
    """One purchase per item line, written once however often it is confirmed."""
    return await _ask_central(request, path_id(request), "confirm", {})


@api.route(
    "POST",
    "/api/receipts/{id}/undo",
    "Undo a confirmed receipt's stock on this node (every line's purchase, as the journal does)",
    tag="receipts",
    responses={409: "not confirmed, or nothing left to undo"},
)
async def undo_receipt(request: web.Request) -> web.StreamResponse:
    """Withdraw every purchase of the receipt that is not undone yet, in one transaction."""
    receipt_id = path_id(request)
    view = await request.app[RECEIPTS].get(receipt_id)
    if view is None:
        raise NotFound(f"receipt {receipt_id} does not exist")
    if view.get("status") != "confirmed":
        raise Conflict(f"receipt {receipt_id} is not confirmed (it is {view.get('status')})")
    kitchen = request.app[KITCHEN]
    await mark_stock(kitchen.store.reader, view)
    # Lines whose purchase has not reached this node yet cannot be undone here.
    targets = [
        line["journal_id"]
        for line in view.get("lines") or []
        if line.get("in_journal") and not line.get("undone")
    ]
    if not targets:
        raise Conflict(f"receipt {receipt_id} has no purchase left to undo on this node")
    undone = []
    async with kitchen.change() as tx:
        for event_id in targets:
            undone.append((await inventory.undo(tx, event_id)).event_id)
    return ok({"receipt_id": receipt_id, "undone": targets, "undo_ids": undone})


@api.route("DELETE", "/api/receipts/{id}", "Delete a receipt", tag="receipts", status=204)
async def delete_receipt(request: web.Request) -> web.StreamResponse:
    """Remove it here at once; central (and so every node) follows when reachable."""
    receipt_id = path_id(request)
    if not await request.app[RECEIPTS].delete(receipt_id):
        raise NotFound(f"receipt {receipt_id} does not exist")
    return no_content()


@api.route(
    "GET",
    "/api/products/{id}/prices",
    "What a product cost, where and when (its priced purchases, confirmed receipts included)",
    tag="products",
)
async def product_prices(request: web.Request) -> web.StreamResponse:
    """Newest first: date, price, amount, price per unit, currency, shop and receipt."""
    product_id = path_id(request)
    kitchen = request.app[KITCHEN]
    product = await queries.product(kitchen.store.reader, product_id)
    if product is None or product["deleted"]:
        raise NotFound(f"product {product_id} does not exist")
    book = request.app[RECEIPTS]
    receipts = await book.views("confirmed")
    items = await price_history(kitchen.store.reader, product_id, receipts)
    return ok({"product_id": product_id, "items": items})
