"""Open Food Facts enrichment: a rate-limited v2 client, normalisation and a PostgreSQL cache."""

from central.off.cache import SCHEMA_FILE, SCHEMA_SQL, get_or_fetch
from central.off.client import OffClient, build_user_agent
from central.off.normalise import OFF_FIELDS, normalise_product
from central.off.ratelimit import SlidingWindowLimiter
from central.off.result import OffResult, OffStatus

__all__ = [
    "OFF_FIELDS",
    "SCHEMA_FILE",
    "SCHEMA_SQL",
    "OffClient",
    "OffResult",
    "OffStatus",
    "SlidingWindowLimiter",
    "build_user_agent",
    "get_or_fetch",
    "normalise_product",
]
