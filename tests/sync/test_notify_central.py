"""Notifications in a running central: the API, the Home Assistant event on the real broker
and delivery to a local endpoint behind an Apprise URL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest

from appliance.sync.mqtt import Inbound, MqttConnection
from central.app import Central
from tests.central.auth_helpers import bearer, create_token
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config, until
from tests.fakes.notify_receiver import Receiver

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TOPIC = "kitchen/v1/home/central/notification"


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as r:
        yield r


@pytest.fixture
async def running(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    central = Central(central_config(dsn, broker), clock=FakeClock(NOW))
    try:
        await central.start()
        yield central
    finally:
        await central.close()


class Watcher:
    """Subscribes to the notification topic with central's login (as HA would with its own)."""

    def __init__(self, broker: Broker) -> None:
        self.inbox: asyncio.Queue[Inbound] = asyncio.Queue()
        config = central_config("postgresql://unused", broker)
        self.mqtt = MqttConnection(
            config.mqtt.mqtt_settings("test-watcher", subscriptions=[(TOPIC, 1)]), self._got
        )

    async def _got(self, message: Inbound) -> None:
        await self.inbox.put(message)

    async def __aenter__(self) -> Watcher:
        self.mqtt.start()
        assert await self.mqtt.wait_connected(10)
        # A round trip of our own proves the subscription is in place.
        await self.mqtt.publish(TOPIC, b"{}")
        async with asyncio.timeout(10):
            assert (await self.inbox.get()).payload == b"{}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.mqtt.close()

    async def next(self) -> Inbound:
        async with asyncio.timeout(20):
            return await self.inbox.get()


async def client(central: Central) -> aiohttp.ClientSession:
    """A session authenticated with a full API token, as a script would be."""
    assert central.pool is not None
    return aiohttp.ClientSession(headers=bearer(await create_token(central.pool)))


def api(central: Central, path: str) -> str:
    return f"http://127.0.0.1:{central.port}{path}"


async def put(
    session: aiohttp.ClientSession, central: Central, body: dict[str, Any]
) -> aiohttp.ClientResponse:
    return await session.put(api(central, "/api/notifications"), json=body)


async def test_an_offline_node_is_announced_on_the_broker_and_to_the_apprise_url(
    broker: Broker, receiver: Receiver, dsn: str
) -> None:
    # Everything is in place before central starts, so its first look finds it.
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO nodes (node, status, changed_at) VALUES ('pantry', 'offline', $1)",
            NOW - timedelta(hours=2),
        )
        settings = {"digest": {"enabled": False}, "urls": [receiver.url("/ntfy")]}
        await conn.execute(
            "INSERT INTO notify_settings (household, settings) VALUES ('home', $1::jsonb)",
            json.dumps(settings),
        )
    finally:
        await conn.close()
    central = Central(central_config(dsn, broker), clock=FakeClock(NOW))
    async with Watcher(broker) as watcher:
        try:
            await central.start()
            message = await watcher.next()
            assert not message.retain and message.qos == 1
            event = json.loads(message.payload)
            assert event["event_type"] == "node_offline"
            assert event["title"] == "Kitchen: pantry has been offline since 2026-12-01 07:00"
            assert [i["node"] for i in event["items"]] == ["pantry"]
            assert set(event) == {"event_type", "title", "message", "items"}
            # Apprise was sent to first (targets in order: URLs, then Home Assistant).
            assert receiver.paths == ["/ntfy"]
            assert receiver.received[0]["title"] == event["title"]
            body: dict[str, Any] = {}
            async with await client(central) as session:

                async def recorded() -> bool:
                    # The event can reach us before central has its PUBACK and records it.
                    nonlocal body
                    body = await (await session.get(api(central, "/api/notifications"))).json()
                    return [d["status"] for d in body["recent"][0]["deliveries"]] == ["sent"] * 2

                await until(recorded, 20, "both deliveries recorded as sent")
            assert body["ha_event_topic"] == TOPIC
        finally:
            await central.close()


async def test_urls_are_masked_and_kept_by_id(running: Central, receiver: Receiver) -> None:
    secret = f"json://kitchen:s3cret-token@127.0.0.1:{receiver.port}/hook"
    async with await client(running) as session:
        response = await put(session, running, {"urls": [{"url": secret}], "horizon_days": 3})
        assert response.status == 200
        shown = await response.json()
        assert "s3cret" not in json.dumps(shown)
        (url,) = shown["settings"]["urls"]
        assert url["source"] == "settings" and url["url"].startswith("json://kitchen:")
        # Send back what GET showed, by id: the secret stays stored.
        keep = {**shown["settings"], "urls": [{"id": url["id"]}], "horizon_days": 5}
        response = await put(session, running, keep)
        assert response.status == 200, await response.text()
        again = await (await session.get(api(running, "/api/notifications"))).json()
        assert again["settings"]["horizon_days"] == 5
        assert [u["id"] for u in again["settings"]["urls"]] == [url["id"]]
        test = await session.post(api(running, "/api/notifications/test"))
        assert test.status == 200
        outcome = await test.json()
        assert outcome["ok"] is True
        assert {r["target"] for r in outcome["results"]} == {url["id"], "ha"}
        assert receiver.received[-1]["title"] == "Kitchen: test notification"
        # Dropping it from the list removes it.
        response = await put(session, running, {"urls": []})
        assert (await response.json())["settings"]["urls"] == []


async def test_a_test_message_to_an_unsaved_url_reports_its_failure(running: Central) -> None:
    async with await client(running) as session:
        response = await session.post(
            api(running, "/api/notifications/test"), json={"url": "json://127.0.0.1:9/nobody"}
        )
        assert response.status == 200
        outcome = await response.json()
        assert outcome["ok"] is False
        assert outcome["results"][0]["status"] == "failed"
        assert outcome["results"][0]["error"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"digest": {"time": "25:00"}}, "digest.time"),
        ({"quiet_hours": {"enabled": "sometimes"}}, "quiet_hours.enabled"),
        ({"node_offline_minutes": 0}, "node_offline_minutes"),
        ({"urls": [{"url": "nonsense://x"}]}, "Apprise does not understand"),
        ({"urls": [{"id": "apprise:0123456789ab"}]}, "no saved URL has the id"),
        ({"urls": "ntfy://ntfy.sh/x"}, "urls"),
        ({"surprise": 1}, "surprise: unknown field"),
        ([1, 2], "body"),
    ],
)
async def test_bad_settings_are_a_422_naming_the_key(
    running: Central, body: Any, detail: str
) -> None:
    async with await client(running) as session:
        response = await session.put(api(running, "/api/notifications"), json=body)
        assert response.status == 422
        assert response.content_type == "application/problem+json"
        assert detail in (await response.json())["detail"]


async def test_a_body_that_is_not_json_is_refused(running: Central) -> None:
    async with await client(running) as session:
        url = api(running, "/api/notifications")
        response = await session.put(url, data=b"{", headers={"Content-Type": "application/json"})
        assert response.status == 422
        response = await session.put(url, data=b"x=1")
        assert response.status == 415
        response = await session.post(
            api(running, "/api/notifications/test"), json={"url": "not a url"}
        )
        assert response.status == 422
        assert "scheme://" in (await response.json())["detail"]


async def test_the_notification_api_needs_a_login(running: Central) -> None:
    async with aiohttp.ClientSession() as anonymous:
        for method, path in (
            ("GET", "/api/notifications"),
            ("PUT", "/api/notifications"),
            ("POST", "/api/notifications/test"),
        ):
            response = await anonymous.request(method, api(running, path), json={})
            assert response.status == 401, (method, path)


async def test_two_centrals_and_a_restart_send_one_alert(
    broker: Broker, receiver: Receiver, dsn: str
) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO nodes (node, status, changed_at) VALUES ('pantry', 'offline', $1)",
            NOW - timedelta(hours=2),
        )
        settings = {"digest": {"enabled": False}, "urls": [receiver.url("/ntfy")]}
        await conn.execute(
            "INSERT INTO notify_settings (household, settings) VALUES ('home', $1::jsonb)",
            json.dumps(settings),
        )
    finally:
        await conn.close()

    def make(instance: str) -> Central:
        return Central(central_config(dsn, broker, instance=instance), clock=FakeClock(NOW))

    first, second = make("central-1"), make("central-2")
    async with Watcher(broker) as watcher:
        try:
            await asyncio.gather(first.start(), second.start())
            # Both look again at once, besides their own first look at start.
            one, two = first.notifier, second.notifier
            assert one is not None and two is not None
            await asyncio.gather(one.tick(), two.tick())
            pool = first.pool
            assert pool is not None

            async def settled() -> bool:
                rows = await pool.fetch("SELECT status FROM notify_deliveries")
                return bool(rows) and all(r["status"] == "sent" for r in rows)

            await until(settled, 20, "the deliveries to be recorded")
            assert len(receiver.received) == 1
            assert await pool.fetchval("SELECT count(*) FROM notifications") == 1
            event = json.loads((await watcher.next()).payload)
            assert event["event_type"] == "node_offline"
            assert watcher.inbox.empty()
        finally:
            await asyncio.gather(first.close(), second.close())
        # A restart: a new process finds the claim and sends nothing.
        again = make("central-1")
        try:
            await again.start()
            assert again.notifier is not None
            report = await again.notifier.tick()
            assert report.sent == [] and report.failed == []
        finally:
            await again.close()
    assert len(receiver.received) == 1
