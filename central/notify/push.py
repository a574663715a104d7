"""Web Push (RFC 8030, with VAPID, RFC 8292, and aes128gcm payloads, RFC 8291), off by default.

Central makes one VAPID key pair per household, serves the public key to the page that
subscribes, keeps each browser's subscription, and sends each notification's event JSON to
it through ``pywebpush``. A push service answering 404 or 410 has dropped the subscription:
it is deleted. For Safari on an iPad the endpoint is Apple's push service on the internet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pywebpush import WebPushException, webpush_async

from central.notify.rules import Notification
from central.notify.targets import TargetError


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def subscription_id(endpoint: str) -> str:
    """The key of a subscription (its endpoint is a capability: never shown in full)."""
    return "push:" + hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:12]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SubscriptionKeys(BaseModel):
    """The browser's ``PushSubscription.toJSON().keys``."""

    model_config = ConfigDict(extra="forbid")
    p256dh: str = Field(min_length=80, max_length=100)
    auth: str = Field(min_length=16, max_length=32)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        try:
            raw = _b64url_decode(value)
        except (binascii.Error, ValueError):
            raise ValueError("p256dh must be base64url") from None
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError("p256dh must be an uncompressed P-256 point (65 bytes)")
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        try:
            raw = _b64url_decode(value)
        except (binascii.Error, ValueError):
            raise ValueError("auth must be base64url") from None
        if len(raw) != 16:
            raise ValueError("auth must be 16 bytes")
        return value


class SubscriptionIn(BaseModel):
    """The body of ``POST /api/notifications/push/subscriptions``: the browser's
    ``PushSubscription.toJSON()``, plus a label to recognise the device by."""

    model_config = ConfigDict(extra="ignore")  # expirationTime and future fields
    endpoint: str = Field(min_length=10, max_length=2048)
    keys: SubscriptionKeys
    label: str | None = Field(default=None, max_length=80)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parts = urlsplit(value)
        host = parts.hostname or ""
        if parts.scheme == "https" and host:
            return value
        if parts.scheme == "http" and _loopback(host):
            return value  # a push service on this machine (development, the tests)
        raise ValueError("the endpoint must be an https:// URL of a push service")


async def vapid(pool: asyncpg.Pool, household: str) -> tuple[str, str]:
    """The household's VAPID key pair ``(private PEM, public key base64url)``, made once."""
    row = await pool.fetchrow(
        "SELECT private_pem, public_key FROM notify_vapid WHERE household = $1", household
    )
    if row is None:
        key = Vapid02()
        key.generate_keys()
        pem = key.private_pem().decode("ascii")
        public = _b64url(
            key.public_key.public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )
        # Two centrals starting at once: the first insert wins, both use it.
        await pool.execute(
            """INSERT INTO notify_vapid (household, private_pem, public_key) VALUES ($1, $2, $3)
               ON CONFLICT (household) DO NOTHING""",
            household,
            pem,
            public,
        )
        row = await pool.fetchrow(
            "SELECT private_pem, public_key FROM notify_vapid WHERE household = $1", household
        )
    assert row is not None
    return str(row["private_pem"]), str(row["public_key"])


async def subscribe(pool: asyncpg.Pool, household: str, sub: SubscriptionIn) -> str:
    """Keep a subscription (the same endpoint again replaces its keys); return its id."""
    sid = subscription_id(sub.endpoint)
    await pool.execute(
        """INSERT INTO notify_push_subscriptions (id, household, endpoint, p256dh, auth, label)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth,
                                          label = EXCLUDED.label""",
        sid,
        household,
        sub.endpoint,
        sub.keys.p256dh,
        sub.keys.auth,
        sub.label,
    )
    return sid


async def unsubscribe(pool: asyncpg.Pool, household: str, sid: str) -> bool:
    """Forget a subscription; return whether there was one."""
    status = await pool.execute(
        "DELETE FROM notify_push_subscriptions WHERE household = $1 AND id = $2", household, sid
    )
    return bool(status != "DELETE 0")


async def subscriptions(pool: asyncpg.Pool, household: str) -> list[dict[str, Any]]:
    """The subscriptions as the API shows them (the endpoint's host only)."""
    rows = await pool.fetch(
        """SELECT id, endpoint, label, created_at FROM notify_push_subscriptions
           WHERE household = $1 ORDER BY created_at, id""",
        household,
    )
    return [
        {
            "id": r["id"],
            "service": urlsplit(r["endpoint"]).hostname,
            "label": r["label"],
            "created_at": r["created_at"].isoformat(),
        }
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class PushTarget:
    """One browser's subscription."""

    pool: asyncpg.Pool
    household: str
    sid: str
    endpoint: str
    p256dh: str
    auth: str
    private_pem: str
    subject: str
    request_timeout: float

    @property
    def key(self) -> str:
        """The delivery table's name for this target."""
        return self.sid

    async def send(self, notification: Notification) -> None:
        """Encrypt the event JSON for this browser and post it to its push service."""
        payload = json.dumps(notification.event(), ensure_ascii=False)
        try:
            await webpush_async(
                {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}},
                payload,
                vapid_private_key=Vapid02.from_pem(self.private_pem.encode("ascii")),
                vapid_claims={"sub": self.subject},
                ttl=24 * 3600,
                timeout=self.request_timeout,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status", None) or getattr(
                exc.response, "status_code", None
            )
            if status in (404, 410):
                await unsubscribe(self.pool, self.household, self.sid)
                raise TargetError(f"the push service dropped the subscription ({status})") from exc
            raise TargetError(f"push failed: {exc}") from exc
        except OSError as exc:  # aiohttp's connection errors
            raise TargetError(f"push failed: {exc}") from exc


async def push_targets(
    pool: asyncpg.Pool, household: str, subject: str, request_timeout: float
) -> list[PushTarget]:
    """A target per subscription of the household."""
    rows = await pool.fetch(
        "SELECT id, endpoint, p256dh, auth FROM notify_push_subscriptions WHERE household = $1",
        household,
    )
    if not rows:
        return []
    private_pem, _public = await vapid(pool, household)
    return [
        PushTarget(
            pool,
            household,
            r["id"],
            r["endpoint"],
            r["p256dh"],
            r["auth"],
            private_pem,
            subject,
            request_timeout,
        )
        for r in rows
    ]
