"""A plain MQTT client for tests: logs in as someone (Home Assistant, central, a node) and
keeps what it receives, so a test can await a message instead of sleeping."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from appliance.sync.mqtt import Inbound, MqttConnection, MqttSettings
from central.credentials import NodeCredentials

_ids = itertools.count()


class Client:
    """One MQTT v5 session; ``received`` holds every message in arrival order."""

    def __init__(self, creds: NodeCredentials, port: int, subscriptions: list[str]) -> None:
        self.received: list[Inbound] = []
        self._arrived = asyncio.Condition()
        self.connection = MqttConnection(
            MqttSettings(
                host="127.0.0.1",
                port=port,
                client_id=f"test-{creds.username}-{next(_ids)}",
                username=creds.username,
                password=creds.password,
                session_expiry=0,
                subscriptions=[(topic, 1) for topic in subscriptions],
            ),
            self._on_message,
        )

    async def __aenter__(self) -> Client:
        self.connection.start()
        assert await self.connection.wait_connected(10), "test client could not connect"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def _on_message(self, message: Inbound) -> None:
        async with self._arrived:
            self.received.append(message)
            self._arrived.notify_all()

    async def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish and wait for the broker's PUBACK."""
        data = payload.encode() if isinstance(payload, str) else payload
        await self.connection.publish(topic, data, retain=retain)

    async def next(
        self,
        topic: str,
        where: Callable[[Inbound], bool] = lambda m: True,
        *,
        after: int = 0,
        within: float = 30.0,
    ) -> Inbound:
        """The first message on ``topic`` (from index ``after``) that satisfies ``where``."""

        def found() -> Inbound | None:
            for message in self.received[after:]:
                if message.topic == topic and where(message):
                    return message
            return None

        async with asyncio.timeout(within):
            async with self._arrived:
                await self._arrived.wait_for(lambda: found() is not None)
        result = found()
        assert result is not None
        return result

    async def next_json(
        self,
        topic: str,
        where: Callable[[dict[str, Any]], bool] = lambda v: True,
        *,
        after: int = 0,
        within: float = 30.0,
    ) -> dict[str, Any]:
        """The first JSON payload on ``topic`` that satisfies ``where``."""

        def matches(message: Inbound) -> bool:
            try:
                value = json.loads(message.payload)
            except ValueError:
                return False
            return isinstance(value, dict) and where(value)

        message = await self.next(topic, matches, after=after, within=within)
        value: dict[str, Any] = json.loads(message.payload)
        return value
