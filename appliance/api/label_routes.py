"""Lot labels: their PNG and PDF, and printing them through the label printer's webhook."""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from appliance.api.bodies import Query
from appliance.api.ids import path_id
from appliance.api.problem import ProblemError
from appliance.api.registry import Api, read_query
from appliance.api.responses import ok
from appliance.labels.service import Format, Labels, Size
from appliance.labels.webhook import PrinterError

api = Api()
LABELS = web.AppKey("labels", Labels)
_BINARY = {"schema": {"type": "string", "format": "binary"}}
#: Above this a label is a mistake, not a label (300 x 300 mm at 600 dpi would be 50 MP).
MAX_PIXELS = 25_000_000


class LabelQuery(Query):
    """A label size other than the configured one (each part may be left out)."""

    width_mm: Annotated[float, Field(ge=15, le=300)] | None = None
    height_mm: Annotated[float, Field(ge=10, le=300)] | None = None
    dpi: Annotated[int, Field(ge=100, le=600)] | None = None


def _size(request: web.Request) -> Size:
    q = read_query(request, LabelQuery)
    default = request.app[LABELS].default_size
    size = Size(
        q.width_mm or default.width_mm, q.height_mm or default.height_mm, q.dpi or default.dpi
    )
    width, height = size.pixels
    if width * height > MAX_PIXELS:
        raise ProblemError(
            422,
            "Invalid query parameters",
            f"that label would have more than {MAX_PIXELS // 1_000_000} megapixels",
        )
    return size


async def _picture(request: web.Request, kind: Format) -> web.Response:
    lot_id = path_id(request)
    size = _size(request)
    data = await request.app[LABELS].picture(lot_id, kind, size)
    return web.Response(
        body=data,
        content_type="image/png" if kind == "png" else "application/pdf",
        headers={
            "Cache-Control": "no-store",  # a label shows the lot as it is now
            "Content-Disposition": f'inline; filename="label-{lot_id}.{kind}"',
        },
    )


@api.route(
    "GET",
    "/api/lots/{id}/label.png",
    "A lot's label as a PNG at the printer's resolution",
    tag="labels",
    query=LabelQuery,
    reply_content={"image/png": _BINARY},
)
async def label_png(request: web.Request) -> web.StreamResponse:
    """The label (product, amount, dates, DataMatrix of the lot code) as a 1-bit PNG."""
    return await _picture(request, "png")


@api.route(
    "GET",
    "/api/lots/{id}/label.pdf",
    "A lot's label as a one-page PDF of the label's size",
    tag="labels",
    query=LabelQuery,
    reply_content={"application/pdf": _BINARY},
)
async def label_pdf(request: web.Request) -> web.StreamResponse:
    """The same label as a PDF page of exactly the label's size, for any printer."""
    return await _picture(request, "pdf")


@api.route(
    "POST",
    "/api/lots/{id}/print",
    "Print a lot's label through the label printer's webhook (Grocy's shape)",
    tag="labels",
    responses={
        409: "No label printer is configured (reason no_printer)",
        502: "The label printer cannot be reached or refused the label",
    },
)
async def print_label(request: web.Request) -> web.StreamResponse:
    """POST the label's fields to ``[labels] webhook``; answers with what was sent."""
    lot_id = path_id(request)
    try:
        payload: dict[str, Any] = await request.app[LABELS].print(lot_id)
    except PrinterError as exc:
        raise ProblemError(502, "Label printer failed", str(exc)) from None
    return ok({"printed": True, "lot_id": lot_id, "sent": payload})


@api.route("GET", "/api/labels", "Label size and whether a printer is configured", tag="labels")
async def label_settings(request: web.Request) -> web.StreamResponse:
    """What a print button needs: a printer (webhook) or not, and the label's size."""
    labels = request.app[LABELS]
    size = labels.default_size
    return ok(
        {
            "printer": labels.printer,
            "width_mm": size.width_mm,
            "height_mm": size.height_mm,
            "dpi": size.dpi,
            "code": labels.config.code,
        }
    )
