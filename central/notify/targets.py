"""Where notifications go: Apprise URLs (ntfy, Telegram, e-mail, ...) and the Home Assistant
event on MQTT. Each target has a stable key, which the delivery table records.

An Apprise URL holds its secrets (tokens, passwords); it is shown only as Apprise's privacy
form (``url(privacy=True)``) and known elsewhere by its fingerprint ``apprise:<12 hex>``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise

from central.notify.rules import Notification

log = logging.getLogger(__name__)

HA_TARGET = "ha"
_PROBLEMS = ("WARNING", "ERROR", "CRITICAL")
#: Publishes (topic, payload) with QoS 1, not retained; raises when the broker is unreachable.
Publish = Callable[[bytes], Awaitable[None]]


class TargetError(Exception):
    """A delivery failed; the message says why."""


def fingerprint(url: str) -> str:
    """The key of an Apprise URL (the URL itself is a secret)."""
    return "apprise:" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def check_url(url: str) -> str | None:
    """Why Apprise cannot use ``url`` (None when it can)."""
    if not url or len(url) > 2048:
        return "an Apprise URL must be 1 to 2048 characters"
    if "://" not in url:
        return "an Apprise URL looks like scheme://..., e.g. ntfy://ntfy.sh/my-topic"
    if apprise.Apprise.instantiate(url) is None:
        scheme = url.split("://", 1)[0]
        return f"Apprise does not understand this {scheme}:// URL (unknown service or bad form)"
    return None


def _hide(part: str) -> str:
    if not part or "****" in part or "..." in part:
        return part  # empty, or Apprise has hidden it already
    return (part[:2] if len(part) > 4 else "") + "****"


def masked(url: str) -> str:
    """``url`` with its secrets hidden, fit to show on the dashboard.

    Apprise's privacy form hides passwords and tokens it knows of; path segments and a host
    that is not a host name (an ntfy topic on ntfy.sh, a webhook's key) can be secrets too,
    so they are shortened, and the query (Apprise's options, sometimes a token) is left out.
    """
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return url.split("://", 1)[0] + "://****"
    # Apprise's url() has no annotations; it returns the URL as text.
    private = urlsplit(str(plugin.url(privacy=True)))  # type: ignore[no-untyped-call]
    user, at, hostport = private.netloc.rpartition("@")
    host = hostport.split(":")[0]
    if not ("." in host or host.startswith("[") or host == "localhost"):
        hostport = _hide(hostport)
    path = "/".join(_hide(segment) for segment in private.path.split("/"))
    return f"{private.scheme}://{user}{at}{hostport}{path}"


@dataclass(frozen=True, slots=True)
class AppriseTarget:
    """One Apprise URL."""

    url: str
    source: str  # "config" or "settings"

    @property
    def key(self) -> str:
        """The delivery table's name for this target."""
        return fingerprint(self.url)

    async def send(self, notification: Notification) -> None:
        """Send through Apprise; raise TargetError with Apprise's reason when it failed."""
        client = apprise.Apprise()
        if not client.add(self.url):
            raise TargetError("Apprise does not understand this URL")
        result = await client.async_notify(body=notification.message, title=notification.title)
        if not result:
            reasons = [e.message for e in result.logs() if e.level in _PROBLEMS]
            raise TargetError("; ".join(reasons[-3:]) or f"Apprise reported {result.status.name}")


@dataclass(frozen=True, slots=True)
class HaTarget:
    """The MQTT event Home Assistant's ``event`` entity listens to."""

    publish: Publish

    @property
    def key(self) -> str:
        """The delivery table's name for this target."""
        return HA_TARGET

    async def send(self, notification: Notification) -> None:
        """Publish the event (QoS 1, not retained) and wait for the broker's PUBACK."""
        payload = json.dumps(notification.event(), ensure_ascii=False).encode("utf-8")
        try:
            await self.publish(payload)
        except Exception as exc:  # NotConnected, TimeoutError: retried later
            raise TargetError(f"MQTT publish failed: {exc or type(exc).__name__}") from exc


def apprise_targets(
    config_urls: Iterable[str], settings_urls: Iterable[str]
) -> list[AppriseTarget | HaTarget]:
    """The Apprise targets, each URL once (configuration first)."""
    seen: set[str] = set()
    out: list[AppriseTarget | HaTarget] = []
    for source, urls in (("config", config_urls), ("settings", settings_urls)):
        for url in urls:
            if url not in seen:
                seen.add(url)
                out.append(AppriseTarget(url, source))
    return out
