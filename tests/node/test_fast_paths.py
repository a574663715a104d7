"""The scan path's faster helpers give what the slower ones they replaced gave."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from appliance import eventloop
from appliance.api.responses import json_bytes
from appliance.core.messages import utc_timestamp
from appliance.store.projection import dumps


def test_timestamps_are_utc_with_milliseconds() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert utc_timestamp(moment) == "2026-01-02T01:04:05.678Z"
    assert utc_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    now = utc_timestamp()
    assert len(now) == 24 and now.endswith("Z")


def test_projection_json_is_canonical_and_falls_back_for_what_orjson_refuses() -> None:
    value = {"b": 1, "a": [1.5, "Käse\n", None, True], "c": {"z": 0, "y": -2}}
    assert dumps(value) == json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), sort_keys=True
    )
    huge = {"n": 2**70, "m": {1: "int key"}}
    assert json.loads(dumps(huge)) == {"n": 2**70, "m": {"1": "int key"}}


def test_answers_fall_back_to_json_for_integers_beyond_64_bits() -> None:
    assert json.loads(json_bytes({"ok": "Käse", "n": 2**70})) == {"ok": "Käse", "n": 2**70}


def _loop_module() -> str:
    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    return eventloop.run(which())


def test_the_node_serves_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITCHEN_EVENT_LOOP", raising=False)
    assert _loop_module().startswith("uvloop")


def test_kitchen_event_loop_asyncio_opts_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KITCHEN_EVENT_LOOP", "asyncio")
    assert _loop_module().startswith("asyncio")
