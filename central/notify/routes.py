"""Central's notification API: settings (URLs masked), recent deliveries, a test message.

``GET /api/notifications``, ``PUT /api/notifications`` (pydantic-validated; every problem
in one 422 with its path), ``POST /api/notifications/test``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from central.notify import push, store
from central.notify.service import Notifier
from central.notify.settings import NotifySettings, SettingsIn
from central.notify.targets import check_url, fingerprint, masked
from central.receipts.service import validation_detail

NOTIFIER = web.AppKey("notifier", Notifier)
_MAX_BODY = 32 * 1024


class TestIn(BaseModel):
    """The body of ``POST /api/notifications/test`` (empty: every configured target)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=1, max_length=2048)


def _problem(status: int, title: str, detail: str) -> web.Response:
    from central.http import problem

    return problem(status, title, detail)


def topic(household: str) -> str:
    """Where the Home Assistant event is published."""
    return f"kitchen/v1/{household}/central/notification"


async def _view(notifier: Notifier) -> dict[str, Any]:
    settings = await store.load_settings(notifier.pool, notifier.household)
    data = settings.model_dump(mode="json")
    data["urls"] = [
        {"id": fingerprint(u), "url": masked(u), "source": "settings"} for u in settings.urls
    ]
    return {
        "settings": data,
        "config_urls": [
            {"id": fingerprint(u), "url": masked(u), "source": "config"}
            for u in notifier.tuning.config_urls
        ],
        "ha_event_topic": topic(notifier.household) if notifier.publish is not None else None,
        "recent": await store.recent(notifier.pool, notifier.household),
    }


async def get_notifications(request: web.Request) -> web.Response:
    """The household's notification settings, masked URLs and the last deliveries."""
    return web.json_response(await _view(request.app[NOTIFIER]))


async def _read_json(request: web.Request) -> bytes | web.Response:
    if request.content_type != "application/json":
        return _problem(415, "Unsupported media type", "send the body as application/json")
    body = await request.read()
    if len(body) > _MAX_BODY:
        return _problem(413, "Payload too large", f"the body may be at most {_MAX_BODY} bytes")
    return body


async def put_notifications(request: web.Request) -> web.Response:
    """Replace the settings; URLs are kept by ``id`` or added by ``url``."""
    notifier = request.app[NOTIFIER]
    raw = await _read_json(request)
    if isinstance(raw, web.Response):
        return raw
    try:
        body = SettingsIn.model_validate_json(raw)
    except ValidationError as exc:
        return _problem(422, "Invalid settings", validation_detail(exc))
    current = await store.load_settings(notifier.pool, notifier.household)
    saved = {fingerprint(u): u for u in current.urls}
    urls: list[str] = []
    for i, ref in enumerate(body.urls):
        if ref.id is not None:
            if ref.id not in saved:
                return _problem(
                    422, "Invalid settings", f"urls.{i}.id: no saved URL has the id {ref.id}"
                )
            url = saved[ref.id]
        else:
            assert ref.url is not None
            url = ref.url
        if url not in urls:
            urls.append(url)
    choices = body.model_dump(exclude={"urls"})
    settings = NotifySettings.model_validate({**choices, "urls": urls})
    await store.save_settings(notifier.pool, notifier.household, settings)
    notifier.wake()
    return web.json_response(await _view(notifier))


async def post_test(request: web.Request) -> web.Response:
    """Send a test message to one URL (not saved) or to every configured target."""
    notifier = request.app[NOTIFIER]
    urls: list[str] | None = None
    if request.can_read_body:
        raw = await _read_json(request)
        if isinstance(raw, web.Response):
            return raw
        try:
            body = TestIn.model_validate_json(raw)
        except ValidationError as exc:
            return _problem(422, "Invalid request", validation_detail(exc))
        if body.url is not None:
            problem = check_url(body.url)
            if problem is not None:
                return _problem(422, "Invalid request", f"url: {problem}")
            urls = [body.url]
    results = await notifier.send_test(urls)
    if not results:
        return _problem(
            409, "No targets", "no delivery target is configured (add an Apprise URL first)"
        )
    return web.json_response(
        {"ok": all(r["status"] == "sent" for r in results), "results": results}
    )


async def get_push(request: web.Request) -> web.Response:
    """Whether Web Push is on, central's VAPID public key, and the subscribed browsers."""
    notifier = request.app[NOTIFIER]
    settings = await store.load_settings(notifier.pool, notifier.household)
    _private, public = await push.vapid(notifier.pool, notifier.household)
    return web.json_response(
        {
            "enabled": settings.web_push,
            "public_key": public,
            "subscriptions": await push.subscriptions(notifier.pool, notifier.household),
        }
    )


async def post_subscription(request: web.Request) -> web.Response:
    """Keep a browser's ``PushSubscription`` (its ``toJSON()``)."""
    notifier = request.app[NOTIFIER]
    raw = await _read_json(request)
    if isinstance(raw, web.Response):
        return raw
    try:
        body = push.SubscriptionIn.model_validate_json(raw)
    except ValidationError as exc:
        return _problem(422, "Invalid subscription", validation_detail(exc))
    sid = await push.subscribe(notifier.pool, notifier.household, body)
    return web.json_response({"id": sid}, status=201)


async def delete_subscription(request: web.Request) -> web.Response:
    """Forget a browser's subscription."""
    notifier = request.app[NOTIFIER]
    sid = request.match_info["id"]
    if not await push.unsubscribe(notifier.pool, notifier.household, sid):
        return _problem(404, "Not Found", f"no push subscription has the id {sid}")
    return web.Response(status=204)


def add_routes(app: web.Application, notifier: Notifier) -> None:
    """Mount the notification API on central's app."""
    app[NOTIFIER] = notifier
    app.router.add_get("/api/notifications", get_notifications)
    app.router.add_put("/api/notifications", put_notifications)
    app.router.add_post("/api/notifications/test", post_test)
    app.router.add_get("/api/notifications/push", get_push)
    app.router.add_post("/api/notifications/push/subscriptions", post_subscription)
    app.router.add_delete("/api/notifications/push/subscriptions/{id}", delete_subscription)
