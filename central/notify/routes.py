"""Central's notification API: settings (URLs masked), recent deliveries, a test message,
and the Web Push subscriptions.

Declared in the registry (``appliance.api.registry``) like the dashboard's routes, so they are
in the OpenAPI document and the schema fuzzing covers them. Bodies go through ``read_body``:
400 malformed JSON, 415 another media type, 422 every invalid field with its path.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.problem import ProblemError
from appliance.api.registry import Api, RouteSpec, read_body, read_query
from central.notify import push, store
from central.notify.service import Notifier
from central.notify.settings import NotifySettings, SettingsIn
from central.notify.targets import check_url, fingerprint, masked

NOTIFIER = web.AppKey("notifier", Notifier)
api = Api()


class NoQuery(BaseModel):
    """Routes that take no query parameters refuse unknown ones (a typo is an error)."""

    model_config = ConfigDict(extra="forbid")


class TestIn(BaseModel):
    """The body of ``POST /api/notifications/test`` (none: every configured target)."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=1, max_length=2048)


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


@api.route(
    "GET",
    "/api/notifications",
    "Notification settings (URLs masked) and the last deliveries",
    tag="notifications",
    query=NoQuery,
)
async def get_notifications(request: web.Request) -> web.StreamResponse:
    """The household's notification settings, masked URLs and the last deliveries."""
    read_query(request, NoQuery)
    return web.json_response(await _view(request.app[NOTIFIER]))


@api.route(
    "PUT",
    "/api/notifications",
    "Replace the notification settings",
    tag="notifications",
    body=SettingsIn,
    # An Apprise URL Apprise does not understand, or the id of no saved URL.
    content_refusals=(422,),
)
async def put_notifications(request: web.Request) -> web.StreamResponse:
    """Replace the settings; URLs are kept by ``id`` or added by ``url``."""
    notifier = request.app[NOTIFIER]
    body = await read_body(request, SettingsIn)
    current = await store.load_settings(notifier.pool, notifier.household)
    saved = {fingerprint(u): u for u in current.urls}
    urls: list[str] = []
    for i, ref in enumerate(body.urls):
        if ref.id is not None:
            if ref.id not in saved:
                raise ProblemError(
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


@api.route(
    "POST",
    "/api/notifications/test",
    "Send a test message",
    tag="notifications",
    body=TestIn,
    optional_body=True,
    responses={409: "No delivery target is configured"},
    content_refusals=(409, 422),
)
async def post_test(request: web.Request) -> web.StreamResponse:
    """Send a test message to one URL (not saved) or to every configured target."""
    notifier = request.app[NOTIFIER]
    urls: list[str] | None = None
    if request.can_read_body:
        body = await read_body(request, TestIn)
        if body.url is not None:
            problem = check_url(body.url)
            if problem is not None:
                raise ProblemError(422, "Invalid request", f"url: {problem}")
            urls = [body.url]
    results = await notifier.send_test(urls)
    if not results:
        raise ProblemError(
            409, "No targets", "no delivery target is configured (add an Apprise URL first)"
        )
    return web.json_response(
        {"ok": all(r["status"] == "sent" for r in results), "results": results}
    )


@api.route(
    "GET",
    "/api/notifications/push",
    "Web Push: on or off, central's VAPID key, the subscribed browsers",
    tag="notifications",
    query=NoQuery,
)
async def get_push(request: web.Request) -> web.StreamResponse:
    """Whether Web Push is on, central's VAPID public key, and the subscribed browsers."""
    read_query(request, NoQuery)
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


@api.route(
    "POST",
    "/api/notifications/push/subscriptions",
    "Keep a browser's Web Push subscription",
    tag="notifications",
    body=push.SubscriptionIn,
    status=201,
    content_refusals=(422,),  # an endpoint that is not a push service's, keys that are no keys
)
async def post_subscription(request: web.Request) -> web.StreamResponse:
    """Keep a browser's ``PushSubscription`` (its ``toJSON()``)."""
    notifier = request.app[NOTIFIER]
    body = await read_body(request, push.SubscriptionIn)
    sid = await push.subscribe(notifier.pool, notifier.household, body)
    return web.json_response({"id": sid}, status=201)


@api.route(
    "DELETE",
    "/api/notifications/push/subscriptions/{id}",
    "Forget a browser's Web Push subscription",
    tag="notifications",
    status=204,
    path_params={"id": {"type": "string", "maxLength": 64}},
    content_refusals=(404,),
)
async def delete_subscription(request: web.Request) -> web.StreamResponse:
    """Forget a browser's subscription."""
    notifier = request.app[NOTIFIER]
    sid = request.match_info["id"]
    if not await push.unsubscribe(notifier.pool, notifier.household, sid):
        raise ProblemError(404, "Not Found", f"no push subscription has the id {sid}")
    return web.Response(status=204)


def specs() -> list[RouteSpec]:
    """Every notification route (for the OpenAPI document and its fuzzing)."""
    return list(api.specs)


def add_routes(app: web.Application, notifier: Notifier) -> None:
    """Mount the notification API on central's app."""
    app[NOTIFIER] = notifier
    api.install(app)
