"""The outcome of one Open Food Facts lookup, as the rest of central sees it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class OffStatus(StrEnum):
    """Whether OFF knows the barcode; ``ERROR`` means "ask again later"."""

    FOUND = "found"
    NOT_FOUND = "not_found"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class OffResult:
    """One lookup's answer.

    ``product`` holds the normalised fields (``name``, ``brand``, ``pack_size``, ``unit``,
    ``category``, ``image_url``, ``nutriscore``) and ``off_data`` the raw subset of OFF's product
    object, both only when ``status`` is ``FOUND``. ``reason`` explains a not-found or an error;
    ``retry_after`` (seconds) is set when OFF asked us to back off. ``from_cache`` and ``stale``
    say where the answer came from: a stale cached answer is served when a refresh failed.
    """

    barcode: str
    status: OffStatus
    product: dict[str, Any] | None = None
    off_data: dict[str, Any] | None = None
    reason: str | None = None
    retry_after: float | None = None
    from_cache: bool = False
    stale: bool = False

    @property
    def found(self) -> bool:
        """True when OFF returned a product."""
        return self.status is OffStatus.FOUND

    @property
    def cacheable(self) -> bool:
        """Found and not-found answers are definitive enough to cache; errors are not."""
        return self.status is not OffStatus.ERROR

    def with_source(self, *, from_cache: bool, stale: bool = False) -> OffResult:
        """A copy marked as coming from the cache (and possibly stale)."""
        return replace(self, from_cache=from_cache, stale=stale)

    @classmethod
    def error(cls, barcode: str, reason: str, retry_after: float | None = None) -> OffResult:
        """An error answer: the caller should try again later."""
        return cls(barcode, OffStatus.ERROR, reason=reason, retry_after=retry_after)

    @classmethod
    def not_found(cls, barcode: str, reason: str = "product not found") -> OffResult:
        """OFF does not know this barcode."""
        return cls(barcode, OffStatus.NOT_FOUND, reason=reason)
