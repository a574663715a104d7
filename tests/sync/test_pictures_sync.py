"""Product pictures: central fetches one from (the local) Open Food Facts, shrinks it and sends
it retained; nodes keep a copy and serve it, also a node that connects later."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from appliance.api.keys import KITCHEN
from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.fakes.off_server import GERMAN_PRODUCT, FakeOffServer, sample_jpeg
from tests.sync.test_node_apps import _node


@pytest.fixture
def central(enriching_central: Central) -> Central:
    """This module's central looks barcodes up on the local Open Food Facts."""
    return enriching_central


async def test_a_picture_reaches_every_node_and_is_served_offline(
    tmp_path: Path, broker: Broker, central: Central, off: FakeOffServer
) -> None:
    a, token_a = await _node("node-a", tmp_path / "a", broker)
    await broker.reload()
    auth_a = {"Authorization": f"Bearer {token_a}"}
    b = None
    try:
        response = await a.post(
            "/api/scanner/scan", json={"code": GERMAN_PRODUCT["code"]}, headers=auth_a
        )
        product_id = (await response.json())["product"]["id"]
        path = f"/api/products/{product_id}/picture"

        async def has_picture() -> bool:
            return (await a.get(path, headers=auth_a)).status == 200

        await until(has_picture, 30, "the picture on node A")
        got = await a.get(path, headers=auth_a)
        assert got.content_type == "image/jpeg"
        jpeg = await got.read()
        assert len(jpeg) <= 48 * 1024
        with Image.open(io.BytesIO(jpeg)) as image:
            assert max(image.size) == 256
        assert off.image_requests  # central fetched it, the node never went there

        # A node that joins later gets it from the broker (retained), without asking.
        b, token_b = await _node("node-b", tmp_path / "b", broker)
        await broker.reload()
        auth_b = {"Authorization": f"Bearer {token_b}"}
        client_b = b

        async def b_has_picture() -> bool:
            return (await client_b.get(path, headers=auth_b)).status == 200

        await until(b_has_picture, 30, "the picture on node B")
        assert await (await b.get(path, headers=auth_b)).read() == jpeg

        # No picture: 404 as a problem, which the web app turns into a placeholder.
        missing = await a.get(
            "/api/products/00000000-0000-4000-8000-000000000000/picture", headers=auth_a
        )
        assert missing.status == 404
        assert missing.content_type == "application/problem+json"
        # What is not a bounded JPEG is not kept.
        kitchen = a.server.app[KITCHEN]
        assert not await kitchen.save_picture(product_id, b"<html>")
        assert not await kitchen.save_picture("not-a-uuid", sample_jpeg(10, 10))
        assert await (await a.get(path, headers=auth_a)).read() == jpeg
    finally:
        await a.close()
        if b is not None:
            await b.close()
