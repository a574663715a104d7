"""The whole flow with the real reader (RapidOCR in its worker process): a photo taken on a
node while central is down is read once central comes up, and every node sees the lines."""

from __future__ import annotations

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.node.helpers import NodeFactory
from tests.receipt_flow.flow import QUICK, syncing_node
from tests.receipt_flow.test_node_capture import form, upload
from tests.receipts.synth import REWE_LAYOUT, encode, photo, render


async def test_a_photo_from_a_node_is_read_by_central_with_real_ocr(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    kitchen = await syncing_node(make_node, broker, "kitchen")
    ws = await kitchen.ws()
    picture = encode(photo(render(REWE_LAYOUT), angle=2.0))
    answer = await upload(kitchen, form(("IMG_0001.jpg", picture, "image/jpeg")))
    # No reader given: central starts the real one, as in production.
    central = Central(central_config(dsn, broker, receipts=QUICK))
    try:
        await central.start()
        assert central.receipts is not None and central.receipts.ocr == "ok"
        done = await ws.wait_for("receipt.completed", within=60)
        assert done["entity_id"] == answer["id"]
        view = await kitchen.get(f"/api/receipts/{answer['id']}")
        assert view["status"] == "completed"
        assert view["total"] == "4.26" and view["consistent"] is True
        kinds = [line["kind"] for line in view["lines"]]
        assert "deposit" in kinds and kinds.count("item") >= 3
    finally:
        await central.close()
