"""Central's receipt API (for the dashboard and for scripts), the same shapes as a node's.

``POST /api/receipts`` takes the upload as a node does (streamed to a temporary file, checked
by ``inspect_upload``), stores it in PostgreSQL and queues the reading at once.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from appliance.core.ids import is_uuid, new_id
from appliance.receipts.edits import LineEdit, LinePatch, ReceiptPatch
from appliance.receipts.upload import UploadError, receive_files
from appliance.sync.receipt_protocol import STATUSES, FileInfo
from central.receipts import review
from central.receipts.service import ReceiptService, validation_detail

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
RECEIPTS = web.AppKey("receipts", ReceiptService)


def _problem(status: int, title: str, detail: str) -> web.Response:
    from central.http import problem

    return problem(status, title, detail)


def _receipt_id(request: web.Request) -> str:
    value = request.match_info["id"].lower()
    if not is_uuid(value):
        raise web.HTTPNotFound(text=f"{request.match_info['id']!r} is not a receipt id")
    return value


async def capture(request: web.Request) -> web.StreamResponse:
    """Store an uploaded receipt and queue its reading: 202 ``{"id", "status"}``."""
    service = request.app[RECEIPTS]
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="kitchen-receipt-"))
    try:
        try:
            received = await receive_files(request, folder, service.config.receipts)
        except UploadError as exc:
            return _problem(exc.status, exc.title, exc.detail)
        files = [
            (FileInfo(i, r.size, r.sha256, r.content_type), r.path) for i, r in enumerate(received)
        ]
        view = await service.store.create(new_id(), files)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
    service.worker.wake()
    await service.publish(view)
    return web.json_response({"id": view["id"], "status": view["status"]}, status=202)


async def list_receipts(request: web.Request) -> web.StreamResponse:
    """Receipts of the household, newest first (``?status=`` filters)."""
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        return _problem(422, "Invalid request", f"status must be one of {', '.join(STATUSES)}")
    items = await request.app[RECEIPTS].store.views(status)
    return web.json_response({"items": items})


async def get_receipt(request: web.Request) -> web.StreamResponse:
    """One receipt with its lines."""
    receipt_id = _receipt_id(request)
    view = await request.app[RECEIPTS].store.view(receipt_id)
    if view is None:
        return _problem(404, "Not Found", f"receipt {receipt_id} does not exist")
    return web.json_response(view)


async def receipt_image(request: web.Request) -> web.StreamResponse:
    """A file of the receipt as uploaded (``?index=``)."""
    receipt_id = _receipt_id(request)
    raw = request.query.get("index", "0")
    if not raw.isdigit() or int(raw) > 9:
        return _problem(422, "Invalid request", "index must be a whole number 0..9")
    found = await request.app[RECEIPTS].store.file(receipt_id, int(raw))
    if found is None:
        return _problem(404, "Not Found", f"receipt {receipt_id} has no complete file {raw}")
    content_type, data = found
    return web.Response(body=data, content_type=content_type)


async def delete_receipt(request: web.Request) -> web.StreamResponse:
    """Delete a receipt everywhere (nodes follow through its cleared retained state)."""
    receipt_id = _receipt_id(request)
    service = request.app[RECEIPTS]
    if not await service.store.delete(receipt_id):
        return _problem(404, "Not Found", f"receipt {receipt_id} does not exist")
    await service.deleted(receipt_id)
    return web.Response(status=204)


async def _body(request: web.Request, model: type[M]) -> M | web.Response:
    if request.content_type != "application/json":
        return _problem(415, "Unsupported media type", "send the body as application/json")
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        return _problem(422, "Invalid request", validation_detail(exc))


async def _edit(request: web.Request, change: ReceiptPatch) -> web.StreamResponse:
    try:
        view = await request.app[RECEIPTS].patch(_receipt_id(request), change)
    except review.ReviewError as exc:
        return _problem(exc.status, _TITLES.get(exc.status, "Refused"), exc.detail)
    return web.json_response(view)


async def patch_receipt(request: web.Request) -> web.StreamResponse:
    """Fix the merchant, date, total or lines (product, amount, location, best-before, skip),
    or add lines the reading missed."""
    body = await _body(request, ReceiptPatch)
    if isinstance(body, web.Response):
        return body
    return await _edit(request, body)


async def patch_line(request: web.Request) -> web.StreamResponse:
    """Fix one line (``/api/receipts/{id}/lines/{index}``)."""
    raw = request.match_info["index"]
    if not raw.isdigit() or int(raw) >= 500:
        return _problem(404, "Not Found", f"line {raw!r} does not exist")
    body = await _body(request, LineEdit)
    if isinstance(body, web.Response):
        return body
    line = LinePatch(index=int(raw), **body.model_dump(exclude_unset=True))
    return await _edit(request, ReceiptPatch(lines=[line]))


async def confirm_receipt(request: web.Request) -> web.StreamResponse:
    """Write one purchase per item line; confirming again changes nothing."""
    try:
        body = await request.app[RECEIPTS].confirm(_receipt_id(request))
    except review.ReviewError as exc:
        return _problem(exc.status, _TITLES.get(exc.status, "Refused"), exc.detail)
    return web.json_response(body)


_TITLES = {404: "Not Found", 409: "Conflict", 422: "Invalid request"}


def add_routes(app: web.Application, service: ReceiptService) -> None:
    """Install the receipt routes."""
    app[RECEIPTS] = service
    app.router.add_post("/api/receipts", capture)
    app.router.add_get("/api/receipts", list_receipts)
    app.router.add_get("/api/receipts/{id}", get_receipt)
    app.router.add_get("/api/receipts/{id}/image", receipt_image)
    app.router.add_delete("/api/receipts/{id}", delete_receipt)
    app.router.add_patch("/api/receipts/{id}", patch_receipt)
    app.router.add_patch("/api/receipts/{id}/lines/{index}", patch_line)
    app.router.add_post("/api/receipts/{id}/confirm", confirm_receipt)
