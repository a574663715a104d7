"""Scans, modes, stations and undo of a scan."""

from __future__ import annotations

from aiohttp import web

from appliance.api.bodies import ModeIn, ModeQuery, ScanIn, UndoIn
from appliance.api.keys import STATIONS
from appliance.api.problem import problem
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import ok
from appliance.services.errors import Conflict

api = Api()


@api.route("POST", "/api/scanner/scan", "Handle a raw scan", tag="scanner", body=ScanIn)
async def scan(request: web.Request) -> web.StreamResponse:
    """Parse and apply a scan in the station's mode (or the mode given)."""
    body = await read_body(request, ScanIn)
    outcome = await request.app[STATIONS].scan(
        body.code,
        body.station_id,
        body.mode,
        allow_negative=body.allow_negative,
        unknown=body.unknown,
    )
    if outcome.get("reason") == "none_in_stock":
        # Nothing changed; the same scan with allow_negative records it anyway.
        return problem(409, "Not in stock", outcome["message"], **outcome)
    if outcome["outcome"] == "error":
        # Still the outcome (for the scanning client), framed as a problem (for everyone).
        return problem(422, "Scan not accepted", outcome["message"], **outcome)
    return ok(outcome)


@api.route("GET", "/api/scanner/mode", "A station's mode", tag="scanner", query=ModeQuery)
async def get_mode(request: web.Request) -> web.StreamResponse:
    """The station's mode and the household default."""
    q = read_query(request, ModeQuery)
    stations = request.app[STATIONS]
    return ok(
        {
            "station_id": q.station_id,
            "mode": await stations.get_mode(q.station_id),
            "default": (await stations.default_mode()).value,
        }
    )


@api.route("POST", "/api/scanner/mode", "Switch a mode", tag="scanner", body=ModeIn)
async def set_mode(request: web.Request) -> web.StreamResponse:
    """Switch a station's mode; without a station, the household default."""
    body = await read_body(request, ModeIn)
    stations = request.app[STATIONS]
    mode = await stations.set_mode(body.station_id, body.mode)
    return ok(
        {
            "station_id": body.station_id,
            "mode": mode,
            "default": (await stations.default_mode()).value,
        }
    )


@api.route("GET", "/api/scanner/stations", "Scan stations", tag="scanner")
async def list_stations(request: web.Request) -> web.StreamResponse:
    """Every station with its mode, last scan and hardware status."""
    return ok({"items": await request.app[STATIONS].list()})


@api.route("POST", "/api/scanner/undo", "Undo a station's last scan", tag="scanner", body=UndoIn)
async def undo_scan(request: web.Request) -> web.StreamResponse:
    """Withdraw what the station's last scan did."""
    body = await read_body(request, UndoIn)
    result = await request.app[STATIONS].undo_last_scan(body.station_id)
    if not result["undone"]:
        raise Conflict(f"station {body.station_id}: {result['message'].lower()}")
    return ok(result)
