"""A Grocy client writing to central (pygrocy2, real broker, PostgreSQL and node): the write is
central's own event and reaches the node."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from pygrocy2.grocy import Grocy

from appliance.core import grocy_ids
from appliance.core.events import Event
from appliance.store import queries
from central.app import Central
from tests.central.auth_helpers import create_token
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, until


async def _central_has(dsn: str, lot_id: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(
            await conn.fetchval(
                "SELECT active FROM entities WHERE kind = 'lot' AND id = $1", lot_id
            )
        )
    finally:
        await conn.close()


@dataclass
class Setup:
    """A running node whose first product has a lot of 2 that central knows, and a Grocy
    client of central."""

    node: Node
    product: Event
    lot: Event
    token: str
    grocy: Grocy

    @property
    def product_int(self) -> int:
        return grocy_ids.product_int(self.product.entity_id)


@asynccontextmanager
async def _node_with_a_lot(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> AsyncIterator[Setup]:
    node = Node("node-a", tmp_path / "a", broker)
    await broker.reload()
    try:
        await node.start()
        product = await node.scan(0)
        lot = await node.scan(1)  # a lot of 2
        await until(lambda: _central_has(dsn, lot.entity_id), 20, "the lot at central")
        assert central.pool is not None
        token = await create_token(central.pool, "grocy-app")
        grocy = Grocy("http://127.0.0.1", token, port=central.port, path="grocy")
        yield Setup(node, product, lot, token, grocy)
    finally:
        await node.stop()


async def test_a_consume_and_a_list_entry_made_through_centrals_grocy_api_reach_a_node(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    async with _node_with_a_lot(tmp_path, dsn, broker, central) as setup:
        node, product, lot, grocy = setup.node, setup.product, setup.lot, setup.grocy
        product_int = setup.product_int

        def writes() -> None:
            grocy.consume_product(product_int, 1)
            grocy.add_product_to_shopping_list(product_int, amount=2)

        await asyncio.to_thread(writes)

        async def arrived() -> bool:
            assert node.store is not None
            reader = node.store.reader
            got = await queries.lot(reader, lot.entity_id)
            rows = await reader.execute_fetchall(
                "SELECT count(*) FROM shopping WHERE product_id = ? AND present = 1",
                (product.entity_id,),
            )
            return got is not None and got["amount"] == 1.0 and next(iter(rows))[0] == 1

        await until(arrived, 20, "central's Grocy writes on the node")
        assert [e.type for e in node.applied if e.origin == "central"] == [
            "stock.consumed",
            "shopping.added",
        ]


async def test_an_inventory_and_its_undo_through_centrals_grocy_api_reach_the_node(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    async with _node_with_a_lot(tmp_path, dsn, broker, central) as setup:
        node, lot, grocy = setup.node, setup.lot, setup.grocy
        token, product_int = setup.token, setup.product_int
        await asyncio.to_thread(grocy.inventory_product, product_int, 5, get_details=False)

        def amount_is(wanted: float) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                assert node.store is not None
                got = await queries.lot(node.store.reader, lot.entity_id)
                return got is not None and got["amount"] == wanted

            return check

        await until(amount_is(5.0), 20, "central's Grocy inventory on the node")
        (recount,) = [e for e in node.applied if e.origin == "central"]
        assert recount.type == "stock.recounted"
        key = {"GROCY-API-KEY": token}
        url = f"http://127.0.0.1:{central.port}/grocy/api/stock/transactions/{recount.event_id}"
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{url}/undo", headers=key) as resp:
                assert resp.status == 204, await resp.text()
            async with session.post(f"{url}/undo", headers=key) as resp:
                assert resp.status == 400  # once only
        await until(amount_is(2.0), 20, "central's Grocy undo on the node")
        assert [e.type for e in node.applied if e.origin == "central"] == [
            "stock.recounted",
            "journal.undone",
        ]
