"""The WebSocket: the message contract for every change, auth, and slow clients."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp

from appliance.api.keys import DISPATCHER, TOKENS
from appliance.api.system_routes import HUB
from appliance.core.ids import is_uuid
from appliance.core.messages import Message
from tests.node.helpers import EAN13, FREEZER, Node, NodeFactory, WsClient

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def check_format(message: dict[str, Any]) -> None:
    """The BRIEF's contract: exactly type, timestamp, entity_id, data."""
    assert set(message) == {"type", "timestamp", "entity_id", "data"}, message
    assert isinstance(message["type"], str)
    assert TIMESTAMP.match(message["timestamp"]), message["timestamp"]
    assert message["entity_id"] is None or is_uuid(message["entity_id"]), message
    assert isinstance(message["data"], dict)


async def test_a_message_for_every_change(node: Node, ws: WsClient) -> None:
    product = await node.product("Milk", barcodes=[EAN13], min_stock=1)
    msg = await ws.wait_for("product.created")
    assert (msg["entity_id"], msg["data"]["product"]["name"]) == (product["id"], "Milk")

    await node.patch(f"/api/products/{product['id']}", {"brand": "Acme"})
    msg = await ws.wait_for("product.updated")
    assert msg["data"]["product"]["brand"] == "Acme"

    lot = await node.lot(product["id"], 2)
    msg = await ws.wait_for("inventory.created")
    assert (msg["entity_id"], msg["data"]["lot"]["amount"], msg["data"]["total"]) == (
        lot["id"],
        2.0,
        2.0,
    )
    assert msg["data"]["lot"]["product_name"] == "Milk"
    assert msg["data"]["lot"]["location_name"] == "Pantry"  # the default place for new stock

    await node.patch(f"/api/inventory/{lot['id']}", {"note": "x"})
    msg = await ws.wait_for("inventory.updated")
    assert msg["data"]["lot"]["note"] == "x"

    await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 2})
    msg = await ws.wait_for("inventory.consumed")
    assert (msg["entity_id"], msg["data"]["total"]) == (lot["id"], 0.0)
    auto = await ws.wait_for("shopping.created")
    assert auto["data"]["shopping"]["auto"] is True

    again = await node.lot(product["id"], 1)
    await node.post(f"/api/inventory/{again['id']}/transfer", {"location_id": FREEZER})
    msg = await ws.wait_for("inventory.updated", where=lambda m: m["entity_id"] == again["id"])
    assert msg["data"]["lot"]["location_id"] == FREEZER
    await node.delete(f"/api/inventory/{again['id']}")
    msg = await ws.wait_for("inventory.deleted")
    assert msg["entity_id"] == again["id"]

    entry = await node.post("/api/shopping", {"text": "Bread"})
    await ws.wait_for("shopping.created", where=lambda m: m["entity_id"] == entry["id"])
    await node.patch(f"/api/shopping/{entry['id']}", {"priority": "urgent"})
    msg = await ws.wait_for("shopping.updated")
    assert msg["data"]["shopping"]["priority"] == "urgent"
    await node.post(f"/api/shopping/{entry['id']}/purchase")
    await ws.wait_for("shopping.purchased")
    await node.delete(f"/api/shopping/{entry['id']}")
    msg = await ws.wait_for("shopping.deleted")
    assert msg["entity_id"] == entry["id"]

    cellar = await node.post("/api/locations", {"name": "Cellar"})
    await ws.wait_for("location.created", where=lambda m: m["entity_id"] == cellar["id"])

    await node.scan(EAN13)
    await ws.wait_for("scanner.scan")
    await node.post("/api/scanner/mode", {"mode": "consume"})
    await ws.wait_for("scanner.mode")

    await node.delete(f"/api/products/{product['id']}?stock=remove")
    await ws.wait_for("product.deleted")

    assert len(ws.seen) >= 20
    for message in ws.seen:
        check_format(message)


async def test_nothing_is_sent_for_a_refused_change(node: Node, ws: WsClient) -> None:
    status, _ = await node.call("POST", "/api/products", {"name": ""})
    assert status == 422
    await node.post("/api/shopping", {"text": "marker"})
    first = await ws.next()
    assert first["type"] == "shopping.created"


async def test_auth_by_header_and_by_query(node: Node) -> None:
    by_header = await node.ws()
    by_query = await node.ws(query_token=True)
    await node.post("/api/shopping", {"text": "Bread"})
    for client in (by_header, by_query):
        check_format(await client.wait_for("shopping.created"))


async def test_refused_without_a_valid_token(node: Node) -> None:
    for path, headers in (
        ("/api/ws", {}),
        ("/api/ws?token=kn_wrong", {}),
        ("/api/ws", {"Authorization": "Bearer kn_wrong"}),
    ):
        try:
            ws = await node.client.ws_connect(path, headers=headers)
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 401
        else:
            await ws.close()
            raise AssertionError(f"{path} {headers} was accepted")


async def test_cross_origin_websocket_is_refused(node: Node) -> None:
    try:
        ws = await node.client.ws_connect(
            "/api/ws", headers={**node.headers, "Origin": "http://evil.example"}
        )
    except aiohttp.WSServerHandshakeError as exc:
        assert exc.status == 403
    else:
        await ws.close()
        raise AssertionError("a cross-origin WebSocket was accepted")


async def test_ping(node: Node, ws: WsClient) -> None:
    await ws.ws.send_str("ping")
    assert (await ws.next())["type"] == "pong"


async def test_a_slow_client_does_not_delay_the_others(make_node: NodeFactory) -> None:
    node = await make_node(http={"ws_queue_limit": 8})
    hub = node.app[HUB]
    dispatcher = node.app[DISPATCHER]
    server = node.client.server.runner.server
    assert server is not None
    slow = await node.ws()  # reads its hello, then never again
    fast = await node.ws()
    assert hub.client_count == 2
    connections = len(server.connections)
    # Big messages fill the socket buffers quickly, so the slow client's sender blocks and
    # its queue overflows.
    filler = "x" * 100_000
    sent = 0
    while hub.client_count == 2:
        assert sent < 2000, "the slow client was never dropped"
        dispatcher.dispatch(Message("test.bulk", None, {"n": sent, "filler": filler}))
        received = await fast.next(within=2)
        assert (received["type"], received["data"]["n"]) == ("test.bulk", sent)
        sent += 1
    # The fast client keeps getting every message after the slow one was dropped.
    for n in range(sent, sent + 20):
        dispatcher.dispatch(Message("test.bulk", None, {"n": n, "filler": ""}))
        assert (await fast.next(within=2))["data"]["n"] == n
    assert hub.client_count == 1
    # The node closed the slow client's connection on its own: the slow client still has
    # not read anything.
    for _ in range(100):
        if len(server.connections) < connections:
            break
        await asyncio.sleep(0)  # let connection_lost and the handler's cleanup run
    assert len(server.connections) == connections - 1
    # The slow client sees its connection end once it reads.
    ended = False
    for _ in range(sent + 10):
        msg = await slow.ws.receive(timeout=5)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            ended = True
            break
    assert ended, "the slow client was not disconnected"


async def test_revoking_a_token_closes_its_websocket(node: Node) -> None:
    """A revoked device stops receiving live messages at once, not at its next reconnect."""
    tokens = node.app[TOKENS]
    token_id, token = await tokens.create("ipad", kind="paired")
    ws = await node.client.ws_connect("/api/ws", headers={"Authorization": f"Bearer {token}"})
    hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "node.online"
    assert await tokens.revoke(token_id)
    message = await ws.receive(timeout=5)
    assert message.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.ERROR,
    )
    await ws.close()


async def test_messages_of_one_turn_arrive_in_order_each_whole(node: Node) -> None:
    """Frames of one turn go out in one write: still one message each, in order, any size
    (the three header lengths of RFC 6455 among them)."""
    dispatcher = node.app[DISPATCHER]
    clients = [await node.ws(), await node.ws()]
    sizes = [0, 1, 100, 125, 126, 127, 1000, 65_535, 65_536, 70_000]
    for n in range(300):  # one turn of the loop: nothing is written before the end of it
        size = sizes[n % len(sizes)]
        dispatcher.dispatch(Message("test.bulk", None, {"n": n, "filler": "ä" * size}))
    for client in clients:
        for n in range(300):
            received = await client.next()
            assert received["type"] == "test.bulk"
            assert received["data"] == {"n": n, "filler": "ä" * sizes[n % len(sizes)]}
    # A ping in between is answered after what was queued before it.
    dispatcher.dispatch(Message("test.bulk", None, {"n": 300, "filler": ""}))
    await clients[0].ws.send_str("ping")
    assert (await clients[0].next())["data"]["n"] == 300
    assert (await clients[0].next())["type"] == "pong"


async def test_a_slow_client_within_the_limit_gets_every_message(make_node: NodeFactory) -> None:
    """Messages its socket did not take yet wait in its connection, in order, and arrive."""
    node = await make_node(http={"ws_queue_limit": 64})
    hub = node.app[HUB]
    dispatcher = node.app[DISPATCHER]
    slow = await node.ws()
    filler = "x" * 200_000  # 60 of them are far more than the socket buffers hold
    for n in range(60):
        dispatcher.dispatch(Message("test.bulk", None, {"n": n, "filler": filler}))
        await asyncio.sleep(0)  # a turn each: 60 separate writes while nobody reads
    assert hub.client_count == 1
    for n in range(60):
        received = await slow.next()
        assert (received["data"]["n"], len(received["data"]["filler"])) == (n, len(filler))
    assert hub.client_count == 1
