"""An async Open Food Facts v2 client: rate limited, backing off on 429/503, never raising.

``GET {base_url}/api/v2/product/{code}?fields=a,b,c`` with the query string built here, because
httpx percent-encodes the commas of ``params=`` and OFF has answered such requests with an
empty product. Every outcome, including timeouts and malformed JSON, is an :class:`OffResult`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType

import httpx

from central.off.normalise import OFF_FIELDS, interpret_body
from central.off.ratelimit import Clock, Sleep, SlidingWindowLimiter
from central.off.result import OffResult

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://world.openfoodfacts.org"
DEFAULT_CONTACT = "kitchen-appliance@example.org"
FIELDS_QUERY = "fields=" + ",".join(OFF_FIELDS)
# ASCII digits only: \d also matches other scripts' digits, and $ a final line break.
_BARCODE_RE = re.compile(r"[0-9]{4,14}")
_BACKOFF_STATUSES = frozenset({429, 503})


def _package_version() -> str:
    try:
        return version("kitchen-appliance")
    except PackageNotFoundError:
        return "0.1.0"


def build_user_agent(contact: str = DEFAULT_CONTACT, app_version: str | None = None) -> str:
    """OFF's requested form: ``AppName/Version (ContactEmail)``."""
    return f"KitchenAppliance/{app_version or _package_version()} ({contact})"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def product_url(base_url: str, code: str) -> str:
    """The v2 product URL with a literal-comma ``fields`` list."""
    return f"{base_url.rstrip('/')}/api/v2/product/{code}?{FIELDS_QUERY}"


class OffClient:
    """Looks barcodes up on Open Food Facts; use as ``async with OffClient(...) as off:``.

    ``limiter`` defaults to 10 requests per 60 s on ``clock``/``sleep``; a 429 or 503 pauses it
    for Retry-After seconds (or an exponential backoff), and the request is retried up to
    ``max_attempts`` times unless the server asks for more than ``max_retry_wait`` seconds.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        user_agent: str | None = None,
        timeout: float | httpx.Timeout = 10.0,
        limiter: SlidingWindowLimiter | None = None,
        max_attempts: int = 3,
        max_retry_wait: float = 120.0,
        backoff_base: float = 5.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.user_agent = user_agent or build_user_agent()
        self.limiter = limiter or SlidingWindowLimiter(10, 60.0, clock=clock, sleep=sleep)
        self.max_attempts = max(1, max_attempts)
        self.max_retry_wait = max_retry_wait
        self.backoff_base = backoff_base
        self._http = httpx.AsyncClient(
            timeout=timeout,
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            follow_redirects=True,
            transport=transport,
        )

    async def __aenter__(self) -> OffClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def lookup(self, barcode: str) -> OffResult:
        """Found (with a normalised product), not found, or an error to retry later."""
        code = barcode.strip()
        if not _BARCODE_RE.fullmatch(code):
            return OffResult.not_found(barcode, "invalid barcode")
        url = product_url(self.base_url, code)
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire()
            try:
                response = await self._http.get(url)
            except httpx.TimeoutException:
                log.warning("OFF lookup of %s timed out", code)
                return OffResult.error(barcode, "timeout")
            except httpx.HTTPError as exc:
                log.warning("OFF lookup of %s failed: %r", code, exc)
                return OffResult.error(barcode, f"network error: {type(exc).__name__}")
            if response.status_code not in _BACKOFF_STATUSES:
                return self._interpret(barcode, response)
            wait = parse_retry_after(response.headers.get("Retry-After"))
            if wait is None:
                wait = self.backoff_base * 2 ** (attempt - 1)
            self.limiter.pause_for(wait)
            if attempt == self.max_attempts or wait > self.max_retry_wait:
                return OffResult.error(
                    barcode, f"HTTP {response.status_code} from OFF", retry_after=wait
                )
            log.warning(
                "OFF answered %s for %s; retrying in %.1f s (attempt %d of %d)",
                response.status_code,
                code,
                wait,
                attempt,
                self.max_attempts,
            )

    async def fetch_image(self, url: str, max_bytes: int) -> bytes | None:
        """Download a product picture (http(s), at most ``max_bytes``); None on any failure."""
        if not url.startswith(("https://", "http://")):
            return None
        try:
            async with self._http.stream("GET", url, headers={"Accept": "image/*"}) as response:
                if response.status_code != 200:
                    log.info("picture %s: HTTP %s", url, response.status_code)
                    return None
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        log.warning("picture %s is larger than %d bytes", url, max_bytes)
                        return None
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            log.warning("picture %s failed: %r", url, exc)
            return None
        return b"".join(chunks)

    def _interpret(self, barcode: str, response: httpx.Response) -> OffResult:
        status = response.status_code
        if status == 404:
            return OffResult.not_found(barcode, "product not found (HTTP 404)")
        if status != 200:
            return OffResult.error(barcode, f"HTTP {status} from OFF")
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            log.warning("OFF sent malformed JSON for %s: %s", barcode, exc)
            return OffResult.error(barcode, "malformed JSON from OFF")
        result = interpret_body(barcode, body)
        if result.reason and not result.found:
            log.info("OFF lookup of %s: %s (%s)", barcode, result.status, result.reason)
        return result
