"""What a household chose about notifications: rules, digest, quiet hours, delivery targets.

One typed model, unknown keys rejected, validated on ``PUT /api/notifications`` and stored as
JSON in PostgreSQL. Apprise URLs hold secrets (tokens, passwords): they are kept as given and
only ever shown masked (see ``central.notify.targets``).
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: The rules, in the order a digest lists them.
RULES = ("expiring", "expired", "below_min", "receipt_review", "node_offline")
Rule = Literal["expiring", "expired", "below_min", "receipt_review", "node_offline"]

_CLOCK_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _clock(value: str) -> str:
    if not _CLOCK_RE.match(value):
        raise ValueError("use a 24-hour time HH:MM, e.g. 07:30")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return value


#: A wall-clock time of day in the household's time zone, "HH:MM".
Clock = Annotated[str, AfterValidator(_clock)]
Zone = Annotated[str, AfterValidator(_zone)]


def clock_time(value: str) -> time:
    """``"07:30"`` as a ``time``."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSwitch(_Strict):
    """Whether a rule sends an alert as soon as it sees something, and whether the digest
    lists what it sees."""

    immediate: bool = True
    digest: bool = True


class Rules(_Strict):
    """One switch pair per rule."""

    expiring: RuleSwitch = RuleSwitch()
    expired: RuleSwitch = RuleSwitch()
    below_min: RuleSwitch = RuleSwitch(immediate=False)
    receipt_review: RuleSwitch = RuleSwitch()
    node_offline: RuleSwitch = RuleSwitch()

    def switch(self, rule: str) -> RuleSwitch:
        """The switches of ``rule``."""
        value: RuleSwitch = getattr(self, rule)
        return value


class Digest(_Strict):
    """The daily summary."""

    enabled: bool = True
    time: Clock = "07:30"
    # False: a day with nothing to report sends no digest.
    send_when_empty: bool = False


class QuietHours(_Strict):
    """A nightly window in which nothing is sent; what falls due is sent once it ends."""

    enabled: bool = False
    start: Clock = "22:00"
    end: Clock = "07:00"

    def contains(self, at: time) -> bool:
        """Whether the local time ``at`` lies inside the window (which may span midnight)."""
        if not self.enabled:
            return False
        start, end = clock_time(self.start), clock_time(self.end)
        if start == end:
            return False
        if start < end:
            return start <= at < end
        return at >= start or at < end


class _Choices(_Strict):
    enabled: bool = True
    # "Today", the digest time and quiet hours are read in this zone, on central's clock.
    timezone: Zone = "UTC"
    # Something is "expiring" when its use-by or best-before is at most this many days away;
    # None: the household's due-soon horizon (``due_soon_days``), as on the dashboard.
    horizon_days: int | None = Field(default=None, ge=0, le=60)
    # A node counts as offline for the rule once it has been offline this long.
    node_offline_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    rules: Rules = Rules()
    digest: Digest = Digest()
    quiet_hours: QuietHours = QuietHours()
    # Publish each notification as an MQTT event for Home Assistant.
    ha_event: bool = True
    # Send each notification to the browsers that subscribed to Web Push (see push.py).
    web_push: bool = False


class NotifySettings(_Choices):
    """Everything a household set about notifications, as stored."""

    # Apprise URLs added through the API (those of central's configuration come on top).
    urls: tuple[str, ...] = Field(default=(), max_length=20)


class UrlRef(_Strict):
    """A delivery URL in a ``PUT``: an ``id`` keeps a saved URL (its secret never travels
    back), a ``url`` adds one."""

    id: str | None = Field(default=None, pattern=r"^apprise:[0-9a-f]{12}$")
    url: str | None = Field(default=None, min_length=1, max_length=2048)

    @model_validator(mode="after")
    def _one(self) -> UrlRef:
        if (self.id is None) == (self.url is None):
            raise ValueError("give either id (a saved URL) or url (a new one)")
        if self.url is not None:
            from central.notify.targets import check_url

            problem = check_url(self.url)
            if problem is not None:
                raise ValueError(problem)
        return self


class SettingsIn(_Choices):
    """The body of ``PUT /api/notifications``: every setting, URLs by reference or new."""

    urls: tuple[UrlRef, ...] = Field(default=(), max_length=20)
