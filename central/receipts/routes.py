"""Central's receipt API (for the dashboard and for scripts), the same shapes as a node's.

``POST /api/receipts`` takes the upload as a node does (streamed to a temporary file, checked
by ``inspect_upload``), stores it in PostgreSQL and queues the reading at once.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from aiohttp import web

from appliance.core.ids import is_uuid, new_id
from appliance.receipts.upload import UploadError, receive_files
from appliance.sync.receipt_protocol import STATUSES, FileInfo
from central.receipts.service import ReceiptService

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


def add_routes(app: web.Application, service: ReceiptService) -> None:
    """Install the receipt routes."""
    app[RECEIPTS] = service
    app.router.add_post("/api/receipts", capture)
    app.router.add_get("/api/receipts", list_receipts)
    app.router.add_get("/api/receipts/{id}", get_receipt)
    app.router.add_get("/api/receipts/{id}/image", receipt_image)
    app.router.add_delete("/api/receipts/{id}", delete_receipt)
