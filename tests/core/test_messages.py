"""The timestamps messages and events carry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from appliance.core.messages import utc_timestamp

STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_now_is_utc_with_milliseconds() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    stamp = utc_timestamp()
    after = datetime.now(UTC)
    assert STAMP.fullmatch(stamp)
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert before <= moment <= after


def test_calls_within_a_millisecond_share_their_text_and_never_go_back() -> None:
    stamps = [utc_timestamp() for _ in range(2000)]
    assert stamps == sorted(stamps)
    assert all(STAMP.fullmatch(s) for s in stamps)


def test_a_given_moment_in_another_zone() -> None:
    moment = datetime(2026, 12, 1, 19, 30, 5, 678901, tzinfo=timezone(timedelta(hours=1)))
    assert utc_timestamp(moment) == "2026-12-01T18:30:05.678Z"
