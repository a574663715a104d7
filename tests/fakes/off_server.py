"""A local fake of the Open Food Facts v2 product API (aiohttp), for tests: never the internet.

It answers ``GET /api/v2/product/{code}`` the way OFF does: a ``{code, product, status,
status_verbose}`` envelope, HTTP 404 with ``status: 0`` for an unknown code, and only the
product fields named in ``fields=`` (split on literal commas, so a percent-encoded list selects
nothing, as OFF does). Scripted answers add 429/503 with Retry-After, slow answers and broken
JSON. Every request is recorded with its raw path and headers.

The sample products below are hand-written in OFF's shape; they are not recorded data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

# A German product whose ``product_name`` is empty while ``product_name_de`` is set, with
# HTML entities in ``brands`` and a multipack quantity.
GERMAN_PRODUCT: dict[str, Any] = {
    "code": "4012345000016",
    "product_name": "",
    "product_name_de": "Apfelschorle naturtrüb",
    "product_name_en": "",
    "brands": "M&uuml;hlbach &amp; S&ouml;hne,Mühlbach",
    "quantity": "6 x 0,33 l",
    "product_quantity": "1980",
    "product_quantity_unit": "ml",
    "categories_tags": [
        "en:beverages",
        "en:plant-based-beverages",
        "en:fruit-based-beverages",
        "en:apple-spritzers",
        "de:apfelschorlen",
    ],
    "image_front_url": "https://images.openfoodfacts.org/images/products/401/234/500/0016/front_de.7.400.jpg",
    "image_url": "https://images.openfoodfacts.org/images/products/401/234/500/0016/front_de.7.400.jpg",
    "nutriscore_grade": "c",
    "lang": "de",
    "lc": "de",
    "nova_group": 4,
    "ingredients_text_de": "Apfelsaft aus Apfelsaftkonzentrat (55 %), Wasser, Kohlensäure",
}

# ``product_quantity`` as a JSON number and no parsable ``quantity``.
NUMERIC_QUANTITY_PRODUCT: dict[str, Any] = {
    "code": "4012345000023",
    "product_name": "Spaghetti n.5",
    "product_name_de": "Spaghetti Nr. 5",
    "brands": "Pasta Nuova",
    "quantity": "",
    "product_quantity": 500,
    "product_quantity_unit": "g",
    "categories_tags": ["en:plant-based-foods", "en:pastas", "en:spaghetti"],
    "image_front_url": "https://images.openfoodfacts.org/images/products/401/234/500/0023/front_it.3.400.jpg",
    "nutriscore_grade": "a",
    "lang": "it",
}

# ``product_quantity`` as a string, ``quantity`` with a decimal comma.
STRING_QUANTITY_PRODUCT: dict[str, Any] = {
    "code": "4012345000030",
    "product_name": "Frische Vollmilch 3,5 %",
    "brands": "Hofgut",
    "quantity": "1,5 l",
    "product_quantity": "1500",
    "product_quantity_unit": "ml",
    "categories_tags": ["en:dairies", "en:milks", "en:whole-milks"],
    "image_url": "https://images.openfoodfacts.org/images/products/401/234/500/0030/front_de.5.400.jpg",
    "nutriscore_grade": "not-applicable",
    "lang": "de",
}


def found_body(product: Mapping[str, Any]) -> dict[str, Any]:
    """OFF's envelope for a found product."""
    return {
        "code": product["code"],
        "product": dict(product),
        "status": 1,
        "status_verbose": "product found",
    }


def not_found_body(code: str) -> dict[str, Any]:
    """OFF's envelope for an unknown code."""
    return {"code": code, "status": 0, "status_verbose": "product not found"}


@dataclass
class FakeResponse:
    """One scripted answer. ``body`` is sent as JSON unless it is ``bytes``/``str``."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # answer only after this many seconds (or when the server closes)


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake saw of one request."""

    method: str
    raw_path: str
    code: str
    headers: dict[str, str]

    @property
    def raw_query(self) -> str:
        """The query string exactly as sent (not decoded)."""
        return self.raw_path.partition("?")[2]


OFF_IMAGES = "https://images.openfoodfacts.org/images"


def sample_jpeg(width: int = 400, height: int = 300) -> bytes:
    """A product photo stand-in: a JPEG with some structure (so it does not shrink to nothing)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (230, 120, 40))
    draw = ImageDraw.Draw(image)
    for n in range(0, width, 20):
        draw.line((n, 0, width - n, height), fill=(20 + n % 200, 90, 160), width=3)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class FakeOffServer:
    """``async with FakeOffServer() as off:`` serves on 127.0.0.1 at ``off.base_url``."""

    def __init__(self, *, serve_images: bool = False) -> None:
        # serve_images: image URLs in answers point here (``/images/...``), where a JPEG of
        # 400 x 300 pixels is served, instead of at OFF's image host (never reached).
        self.serve_images = serve_images
        self.image_requests: list[str] = []
        self.requests: list[RecordedRequest] = []
        self._products: dict[str, dict[str, Any]] = {}
        self._scripts: dict[str, list[FakeResponse]] = {}
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def add_product(self, product: Mapping[str, Any]) -> None:
        """Serve ``product`` as found under its ``code``."""
        self._products[str(product["code"])] = dict(product)

    def script(self, code: str, *responses: FakeResponse) -> None:
        """Answer ``code`` with these responses in turn, then as usual."""
        self._scripts.setdefault(code, []).extend(responses)

    def requests_for(self, code: str) -> list[RecordedRequest]:
        """The recorded requests for one code."""
        return [request for request in self.requests if request.code == code]

    async def __aenter__(self) -> FakeOffServer:
        app = web.Application()
        app.router.add_get("/api/v2/product/{code}", self._product)
        app.router.add_get("/images/{path:.*}", self._image)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop serving (idempotent); slow answers still waiting are released first."""
        self._closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _product(self, request: web.Request) -> web.StreamResponse:
        code = request.match_info["code"].removesuffix(".json")
        self.requests.append(
            RecordedRequest(request.method, request.raw_path, code, dict(request.headers))
        )
        script = self._scripts.get(code)
        answer = script.pop(0) if script else self._default(code, request.raw_path)
        if answer.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), answer.delay)
        return _to_response(answer)

    def _default(self, code: str, raw_path: str) -> FakeResponse:
        product = self._products.get(code)
        if product is None:
            return FakeResponse(404, not_found_body(code))
        fields = _select_fields(product, raw_path)
        if self.serve_images:
            for key in ("image_front_url", "image_url"):
                if isinstance(fields.get(key), str):
                    fields[key] = fields[key].replace(OFF_IMAGES, f"{self.base_url}/images")
        return FakeResponse(200, found_body(fields))

    async def _image(self, request: web.Request) -> web.StreamResponse:
        self.image_requests.append(request.match_info["path"])
        if request.match_info["path"].startswith("missing"):
            return web.Response(status=404, text="not found")
        return web.Response(body=sample_jpeg(), content_type="image/jpeg")


def _select_fields(product: Mapping[str, Any], raw_path: str) -> dict[str, Any]:
    """Only the fields listed in ``fields=``, split on literal commas as OFF does."""
    query = raw_path.partition("?")[2]
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if name == "fields":
            wanted = set(value.split(","))
            return {key: item for key, item in product.items() if key in wanted}
    return dict(product)


def _to_response(answer: FakeResponse) -> web.Response:
    if isinstance(answer.body, bytes | str):
        body = answer.body.encode() if isinstance(answer.body, str) else answer.body
    else:
        body = json.dumps(answer.body, ensure_ascii=False).encode()
    return web.Response(
        status=answer.status,
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8", **answer.headers},
    )


class FakeClock:
    """A monotonic clock and sleep for the client's rate limiter: sleeping advances time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait and jump ahead; yields once so other tasks can run."""
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
