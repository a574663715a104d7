"""Scans, modes, stations and undo of a scan."""

from __future__ import annotations

from aiohttp import web

from appliance.api.auth import DEVICE
from appliance.api.bodies import ModeIn, ModeQuery, ScanIn, UndoIn
from appliance.api.keys import STATIONS, TOKENS
from appliance.api.problem import problem
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import ok
from appliance.services.errors import Conflict, Invalid
from appliance.services.scanning import DEFAULT_STATION

api = Api()


async def station_for(request: web.Request, given: str | None) -> str:
    """The station a request acts on; unknown ones only by their device or an owner.

    Omitted, it is the paired device's own station (named after the device), or the
    ``kitchen`` station for CLI tokens. A kitchen device may name its own station and those
    that exist (the scan box's, other devices'); only an owner may start a new one by naming
    it, up to ``Stations.max_stations``. So ``GET /api/scanner/stations`` stays short.
    """
    device = request.get(DEVICE)
    own = device.station_id if device is not None else None
    if given is None:
        return own or DEFAULT_STATION
    stations = request.app[STATIONS]
    if given == own or await stations.exists(given):
        return given
    if device is not None and device.is_owner:
        await stations.make_room(given)
        return given
    raise Invalid(
        f"unknown station {given!r}: omit station_id to scan as this device's own station; "
        "other stations come from the configuration or an owner"
    )


@api.route(
    "POST",
    "/api/scanner/scan",
    "Handle a raw scan",
    tag="scanner",
    body=ScanIn,
    responses={
        409: "Nothing in stock, or a label's lot is used up (reason none_in_stock, lot_used_up)",
        422: "Invalid fields, or a scan not accepted (the outcome says why: reason unknown_lot"
        " for a label of no known lot)",
    },
    content_refusals=(422,),
)
async def scan(request: web.Request) -> web.StreamResponse:
    """Parse and apply a scan in the station's mode (or the mode given)."""
    body = await read_body(request, ScanIn)
    station = await station_for(request, body.station_id)
    outcome = await request.app[STATIONS].scan(
        body.code,
        station,
        body.mode,
        allow_negative=body.allow_negative,
        unknown=body.unknown,
    )
    if outcome.get("reason") == "none_in_stock":
        # Nothing changed; the same scan with allow_negative records it anyway.
        return problem(409, "Not in stock", outcome["message"], **outcome)
    if outcome.get("reason") == "lot_used_up":
        # A label of a lot that is gone: nothing changed, and nothing will (no allow_negative).
        return problem(409, "Lot used up", outcome["message"], **outcome)
    if outcome["outcome"] == "error":
        # Still the outcome (for the scanning client), framed as a problem (for everyone).
        return problem(422, "Scan not accepted", outcome["message"], **outcome)
    return ok(outcome)


@api.route("GET", "/api/scanner/mode", "A station's mode", tag="scanner", query=ModeQuery)
async def get_mode(request: web.Request) -> web.StreamResponse:
    """The station's mode and the household default."""
    q = read_query(request, ModeQuery)
    stations = request.app[STATIONS]
    station = await station_for(request, q.station_id)
    return ok(
        {
            "station_id": station,
            "mode": await stations.get_mode(station),
            "default": (await stations.default_mode()).value,
        }
    )


@api.route("POST", "/api/scanner/mode", "Switch a mode", tag="scanner", body=ModeIn)
async def set_mode(request: web.Request) -> web.StreamResponse:
    """Switch a station's mode; without a station, the household default."""
    body = await read_body(request, ModeIn)
    stations = request.app[STATIONS]
    station = None if body.station_id is None else await station_for(request, body.station_id)
    mode = await stations.set_mode(station, body.mode)
    return ok(
        {
            "station_id": station,
            "mode": mode,
            "default": (await stations.default_mode()).value,
        }
    )


@api.route("GET", "/api/scanner/stations", "Scan stations", tag="scanner")
async def list_stations(request: web.Request) -> web.StreamResponse:
    """Every station with its mode, last scan and hardware status, and a device's name."""
    names = await request.app[TOKENS].station_names()
    items = await request.app[STATIONS].list()
    for item in items:
        item["name"] = names.get(item["id"])
    return ok({"items": items})


@api.route("POST", "/api/scanner/undo", "Undo a station's last scan", tag="scanner", body=UndoIn)
async def undo_scan(request: web.Request) -> web.StreamResponse:
    """Withdraw what the station's last scan did."""
    body = await read_body(request, UndoIn)
    station = await station_for(request, body.station_id)
    result = await request.app[STATIONS].undo_last_scan(station)
    if not result["undone"]:
        raise Conflict(f"station {station}: {result['message'].lower()}")
    return ok(result)
