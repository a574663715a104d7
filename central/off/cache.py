"""The PostgreSQL cache of OFF answers (table ``off_data``, DDL in ``schema.sql``).

Found and not-found answers are cached; not-found ones are refreshed sooner, because products
get added to OFF all the time. Errors are never cached: when a refresh fails, the stale cached
answer is returned (marked ``stale``, with the error's ``reason`` and ``retry_after``) if there
is one, else the error. Ages are measured with
the database's clock. Database errors propagate to the caller.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta
from importlib.resources import files
from typing import Any, Protocol

from central.off.result import OffResult, OffStatus

log = logging.getLogger(__name__)

SCHEMA_FILE = "schema.sql"
SCHEMA_SQL = files("central.off").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")

DEFAULT_MAX_AGE = timedelta(days=30)
DEFAULT_NOT_FOUND_MAX_AGE = timedelta(days=1)

_SELECT = """
    SELECT status, payload::text AS payload, now() - fetched_at AS age
    FROM off_data WHERE barcode = $1
"""
_UPSERT = """
    INSERT INTO off_data (barcode, status, payload, fetched_at)
    VALUES ($1, $2, $3::jsonb, now())
    ON CONFLICT (barcode) DO UPDATE
    SET status = EXCLUDED.status, payload = EXCLUDED.payload, fetched_at = EXCLUDED.fetched_at
"""


class Executor(Protocol):
    """What is needed of an asyncpg pool or connection."""

    async def fetchrow(self, query: str, *args: Any) -> Any:
        """Run a query and return its first row (or ``None``)."""

    async def execute(self, query: str, *args: Any) -> str:
        """Run a statement."""


class Lookup(Protocol):
    """What is needed of an OFF client."""

    async def lookup(self, barcode: str) -> OffResult:
        """Look a barcode up."""


def _strip_nul(value: Any) -> Any:
    """PostgreSQL's jsonb cannot store U+0000; drop it from every string."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    return value


def _payload(result: OffResult) -> str:
    if result.found:
        payload: dict[str, Any] = {"product": result.product, "off_data": result.off_data}
    else:
        payload = {"reason": result.reason}
    return json.dumps(_strip_nul(payload), ensure_ascii=False)


def _from_row(barcode: str, status: str, payload_text: str, *, stale: bool) -> OffResult:
    payload = json.loads(payload_text)
    if status == OffStatus.FOUND:
        return OffResult(
            barcode,
            OffStatus.FOUND,
            product=payload.get("product"),
            off_data=payload.get("off_data"),
            from_cache=True,
            stale=stale,
        )
    return OffResult(
        barcode,
        OffStatus.NOT_FOUND,
        reason=payload.get("reason"),
        from_cache=True,
        stale=stale,
    )


async def store(pool: Executor, result: OffResult) -> None:
    """Cache a found or not-found answer (errors are ignored)."""
    if result.cacheable:
        await pool.execute(_UPSERT, result.barcode, result.status.value, _payload(result))


async def get_or_fetch(
    pool: Executor,
    client: Lookup,
    barcode: str,
    max_age: timedelta = DEFAULT_MAX_AGE,
    *,
    not_found_max_age: timedelta | None = None,
    force: bool = False,
) -> OffResult:
    """The cached answer when fresh enough, else a lookup (cached when definitive).

    ``not_found_max_age`` defaults to the shorter of ``max_age`` and one day. ``force`` skips a
    fresh cache entry (``POST /api/products/enrich``) but still falls back to it on an error.
    """
    if not_found_max_age is None:
        not_found_max_age = min(max_age, DEFAULT_NOT_FOUND_MAX_AGE)
    row = await pool.fetchrow(_SELECT, barcode)
    if row is not None and not force:
        limit = max_age if row["status"] == OffStatus.FOUND else not_found_max_age
        if row["age"] < limit:
            return _from_row(barcode, row["status"], row["payload"], stale=False)
    result = await client.lookup(barcode)
    if result.cacheable:
        await store(pool, result)
        return result
    if row is not None:
        log.info("OFF refresh of %s failed (%s); serving the cached answer", barcode, result.reason)
        cached = _from_row(barcode, row["status"], row["payload"], stale=True)
        return replace(cached, reason=result.reason, retry_after=result.retry_after)
    return result
