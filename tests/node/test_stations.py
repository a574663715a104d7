"""Station identity: a paired device scans as its own station; nobody else invents stations."""

from __future__ import annotations

from typing import Any

from appliance.api.keys import STATIONS, TOKENS
from appliance.security.tokens import device_station_id
from tests.node.helpers import EAN13, OTHER_EAN, Node, NodeFactory


async def as_device(node: Node, name: str = "Kitchen iPad") -> tuple[str, dict[str, str]]:
    """A paired (kitchen) device: its station id and its Authorization header."""
    token_id, token = await node.app[TOKENS].create(name, kind="paired")
    return device_station_id(token_id, name), {"Authorization": f"Bearer {token}"}


async def call(
    node: Node, method: str, path: str, headers: dict[str, str], body: Any = None
) -> Any:
    async with node.client.request(method, path, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def station_ids(node: Node) -> list[str]:
    """The ids ``GET /api/scanner/stations`` lists."""
    return [s["id"] for s in (await node.get("/api/scanner/stations"))["items"]]


async def test_a_device_without_a_station_scans_as_its_own(node: Node) -> None:
    """Regression: every scan without a station was credited to "kitchen"."""
    station, headers = await as_device(node)
    assert station.startswith("kitchen-ipad-")
    status, outcome = await call(node, "POST", "/api/scanner/scan", headers, {"code": EAN13})
    assert status == 200 and outcome["station_id"] == station
    journal = (await node.get("/api/journal"))["items"]
    assert journal[0]["station_id"] == station
    assert station in await station_ids(node)
    # Its mode and undo act on the same station without naming it.
    status, mode = await call(node, "GET", "/api/scanner/mode", headers)
    assert (status, mode["station_id"]) == (200, station)
    status, undone = await call(node, "POST", "/api/scanner/undo", headers, {})
    assert status == 200 and undone["undone"]


async def test_history_names_the_device_a_scan_came_from(node: Node) -> None:
    """Regression: history read "Added 1 on kitchen-ipad-3f2a9c" (a station id), where a
    person wants the name the device was paired with: "Added 1 on Kitchen iPad"."""
    station, headers = await as_device(node)
    status, _ = await call(node, "POST", "/api/scanner/scan", headers, {"code": EAN13})
    assert status == 200
    entry = (await node.get("/api/journal"))["items"][0]
    assert (entry["station_id"], entry["station_name"]) == (station, "Kitchen iPad")
    named = {s["id"]: s["name"] for s in (await node.get("/api/scanner/stations"))["items"]}
    assert named[station] == "Kitchen iPad"


async def test_two_devices_of_the_same_name_get_two_stations(node: Node) -> None:
    first, _ = await as_device(node, "iPad")
    second, _ = await as_device(node, "iPad")
    assert first != second


async def test_a_kitchen_device_cannot_invent_stations(node: Node) -> None:
    """Regression: any token holder created a station by naming it (a test run left 2,800)."""
    _, headers = await as_device(node)
    before = await station_ids(node)
    events = await node.event_count()
    for i in range(20):
        status, problem = await call(
            node, "POST", "/api/scanner/scan", headers, {"code": EAN13, "station_id": f"s-{i}"}
        )
        assert status == 422, problem
        assert "unknown station" in problem["detail"]
    for method, path, body in (
        ("GET", "/api/scanner/mode?station_id=made-up", None),
        ("POST", "/api/scanner/mode", {"mode": "consume", "station_id": "made-up"}),
        ("POST", "/api/scanner/undo", {"station_id": "made-up"}),
    ):
        status, _ = await call(node, method, path, headers, body)
        assert status == 422, (method, path)
    assert await station_ids(node) == before
    assert await node.event_count() == events
    # Stations that exist may be used: the household's, and one an owner made.
    await node.scan(OTHER_EAN, station_id="pantry-box")
    for station in ("kitchen", "pantry-box"):
        status, outcome = await call(
            node, "POST", "/api/scanner/scan", headers, {"code": EAN13, "station_id": station}
        )
        assert (status, outcome["station_id"]) == (200, station)


async def test_the_configured_box_station_exists_before_its_first_scan(
    make_node: NodeFactory,
) -> None:
    node = await make_node(scanner={"station_id": "box"}, display={"type": "dummy"})
    _, headers = await as_device(node)
    status, mode = await call(node, "GET", "/api/scanner/mode?station_id=box", headers)
    assert (status, mode["station_id"]) == (200, "box")


async def test_cli_tokens_scan_as_the_kitchen_station_and_owners_are_capped(node: Node) -> None:
    status, outcome = await node.scan(EAN13)
    assert (status, outcome["station_id"]) == (200, "kitchen")
    node.app[STATIONS].max_stations = 3
    for name in ("a", "b"):
        assert (await node.scan(EAN13, station_id=name))[0] == 200
    status, problem = await node.scan(EAN13, station_id="c")
    assert status == 409
    assert "stations already" in problem["detail"]
    assert len(await station_ids(node)) == 3
