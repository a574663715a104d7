"""Web Push from a running central to a local push service (never the internet): VAPID key,
subscription API, an encrypted payload the subscriber decrypts, a dropped subscription."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import http_ece
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from appliance.serving import bound_port
from central.app import Central
from tests.central.auth_helpers import bearer, create_token
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config, until

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeClock:
    def now(self) -> datetime:
        return NOW


class PushService:
    """A push service on loopback: keeps what it is sent; ``gone`` answers 410."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.gone: set[str] = set()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _push(self, request: web.Request) -> web.Response:
        if request.match_info["id"] in self.gone:
            return web.Response(status=410)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append((headers, await request.read()))
        return web.Response(status=201)

    async def __aenter__(self) -> PushService:
        app = web.Application()
        app.router.add_post("/push/{id}", self._push)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = bound_port(site)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


class Browser:
    """What a browser keeps for one subscription: its key pair and auth secret."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self) -> dict[str, Any]:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> Any:
        return json.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )


@pytest.fixture
async def pushes() -> AsyncIterator[PushService]:
    async with PushService() as service:
        yield service


@pytest.fixture
async def running(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    central = Central(central_config(dsn, broker), clock=FakeClock())
    try:
        await central.start()
        yield central
    finally:
        await central.close()


def api(central: Central, path: str) -> str:
    return f"http://127.0.0.1:{central.port}{path}"


def verify_vapid(header: str, public_key: str, audience: str) -> dict[str, Any]:
    """Check the VAPID ``Authorization`` header (RFC 8292) against central's public key."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    raw = unb64url(signature)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    decoded: dict[str, Any] = json.loads(unb64url(claims))
    assert decoded["aud"] == audience
    return decoded


async def test_a_notification_reaches_a_subscribed_browser_encrypted_and_signed(
    running: Central, pushes: PushService
) -> None:
    assert running.pool is not None
    browser = Browser(f"http://127.0.0.1:{pushes.port}/push/ipad")
    gone = Browser(f"http://127.0.0.1:{pushes.port}/push/old-ipad")
    pushes.gone.add("old-ipad")
    headers = bearer(await create_token(running.pool))
    async with aiohttp.ClientSession(headers=headers) as session:
        info = await (await session.get(api(running, "/api/notifications/push"))).json()
        assert info["enabled"] is False and info["subscriptions"] == []
        assert len(unb64url(info["public_key"])) == 65
        for b, label in ((browser, "Kitchen iPad"), (gone, "old iPad")):
            response = await session.post(
                api(running, "/api/notifications/push/subscriptions"),
                json={**b.subscription(), "label": label},
            )
            assert response.status == 201, await response.text()
        listed = await (await session.get(api(running, "/api/notifications/push"))).json()
        assert [s["label"] for s in listed["subscriptions"]] == ["Kitchen iPad", "old iPad"]
        assert all(s["service"] == "127.0.0.1" for s in listed["subscriptions"])
        response = await session.put(
            api(running, "/api/notifications"),
            json={"web_push": True, "ha_event": False, "digest": {"enabled": False}},
        )
        assert response.status == 200
        # Now something happens: a node has been offline for two hours.
        await running.pool.execute(
            "INSERT INTO nodes (node, status, changed_at) VALUES ('pantry', 'offline', $1)",
            NOW - timedelta(hours=2),
        )
        assert running.notifier is not None
        running.notifier.wake()

        async def delivered() -> bool:
            body = await (await session.get(api(running, "/api/notifications"))).json()
            return bool(body["recent"]) and all(
                d["status"] in ("sent", "gave_up", "failed")
                for d in body["recent"][0]["deliveries"]
            )

        await until(delivered, 20, "the push deliveries to finish")
        (received,) = pushes.received
        request_headers, body = received
        assert request_headers["content-encoding"] == "aes128gcm"
        assert int(request_headers["ttl"]) > 0
        claims = verify_vapid(
            request_headers["authorization"], info["public_key"], f"http://127.0.0.1:{pushes.port}"
        )
        assert claims["sub"] == "mailto:kitchen@example.org"
        event = browser.decrypt(body)
        assert event["event_type"] == "node_offline"
        assert event["items"][0]["node"] == "pantry"
        # The push service dropped the old subscription: central forgot it.
        after = await (await session.get(api(running, "/api/notifications/push"))).json()
        assert [s["label"] for s in after["subscriptions"]] == ["Kitchen iPad"]
        sid = after["subscriptions"][0]["id"]
        one = api(running, f"/api/notifications/push/subscriptions/{sid}")
        assert (await session.delete(one)).status == 204
        assert (await session.delete(one)).status == 404


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"endpoint": "http://push.example.org/x"}, "https://"),
        ({"endpoint": "ftp://push.example.org/x"}, "https://"),
        ({"keys": {"p256dh": "A" * 87, "auth": b64url(b"x" * 16)}}, "P-256 point"),
        ({"keys": {"p256dh": b64url(b"\x04" + b"x" * 64), "auth": "short"}}, "auth"),
        ({"keys": {"p256dh": b64url(b"\x04" + b"x" * 64)}}, "keys.auth"),
        ({"endpoint": None}, "endpoint"),
    ],
)
async def test_a_bad_subscription_is_a_422(
    running: Central, change: dict[str, Any], detail: str
) -> None:
    assert running.pool is not None
    body = {**Browser("https://push.example.org/x").subscription(), **change}
    headers = bearer(await create_token(running.pool))
    async with aiohttp.ClientSession(headers=headers) as session:
        response = await session.post(
            api(running, "/api/notifications/push/subscriptions"), json=body
        )
        assert response.status == 422
        assert detail in (await response.json())["detail"]
