"""The wire format and the state checksum (pure, no broker needed)."""

from __future__ import annotations

import json
import random

import pytest

from appliance.core.checksum import state_checksum
from appliance.core.fold import Household
from appliance.sync.protocol import (
    Ack,
    Batch,
    ProtocolError,
    SyncRequest,
    SyncResponse,
    Topics,
    decode,
)
from tests.fakes.events import EventFactory


def test_topics_and_node_of() -> None:
    topics = Topics("home")
    assert topics.events("pantry") == "kitchen/v1/home/node/pantry/events"
    assert topics.node_of("kitchen/v1/home/node/pantry/sync/req", "sync/req") == "pantry"
    assert topics.node_of("kitchen/v1/other/node/pantry/events", "events") is None
    assert topics.node_of("kitchen/v1/home/node/a/b/events", "events") is None


def test_round_trips() -> None:
    batch = Batch("b", [{"x": 1}])
    assert Batch.parse(decode(batch.to_bytes())) == batch
    ack = Ack("b", ["e1"], [("e2", "why")])
    assert Ack.parse(decode(ack.to_bytes())) == ack
    req = SyncRequest("r", {"a": 3}, ("a", 3), 10, "snapshot", ("lot", "x"), True)
    assert SyncRequest.parse(decode(req.to_bytes())) == req
    resp = SyncResponse("r", "events", True, [{"e": 1}], ("a", 4))
    assert SyncResponse.parse(decode(resp.to_bytes())) == resp


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"{", "malformed JSON"),
        (b"[]", "not a JSON object"),
        (b'{"v": 2}', "unknown protocol version 2"),
        (b"\xff\xfe", "malformed JSON"),
        (b'{"v": 1, "events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper"),
        (b'{"v": 1, "x": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "nested deeper"),
    ],
)
def test_decode_refuses(raw: bytes, needle: str) -> None:
    with pytest.raises(ProtocolError, match=needle):
        decode(raw)


def test_decode_refuses_oversized() -> None:
    with pytest.raises(ProtocolError, match="oversized"):
        decode(b'{"v": 1}' + b" " * 100, max_bytes=50)


def test_sync_request_validation() -> None:
    with pytest.raises(ProtocolError, match="vector"):
        SyncRequest.parse({"v": 1, "vector": {"a": -1}})
    with pytest.raises(ProtocolError, match="limit"):
        SyncRequest.parse({"v": 1, "vector": {}, "limit": 10**6})


@pytest.mark.parametrize(
    "fields",
    [
        {"vector": {"a": 2**63}},  # beyond PostgreSQL's bigint
        {"vector": {"a": 10**100}},
        {"vector": {"a": True}},
        {"vector": {"a" * 65: 1}},
        {"vector": {}, "after": ["a", 2**64]},
        {"vector": {}, "after": ["a", "7"]},
        {"vector": {}, "after": [["a"], 7]},
        {"vector": {}, "cursor": ["lot", 5]},
        {"vector": {}, "limit": True},
    ],
)
def test_sync_request_numbers_are_bounded(fields: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        SyncRequest.parse({"v": 1, **fields})


@pytest.mark.parametrize(
    "fields",
    [
        {"after": ["a", "x"]},  # was a ValueError from int(), not a ProtocolError
        {"after": ["a", 2**62]},
        {"vector": {"a": None}},
        {"vector": {"a": "3"}},
        {"cursor": ["lot", {}]},
    ],
)
def test_sync_response_refuses_what_it_cannot_use(fields: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        SyncResponse.parse({"v": 1, "kind": "events", **fields})


def test_checksum_ignores_order_and_json_text_form() -> None:
    node = EventFactory("a")
    events = node.scans(30)
    one, two = Household(), Household()
    one.apply_all(events)
    shuffled = events[:]
    random.Random(3).shuffle(shuffled)
    two.apply_all(shuffled + events[:5])
    items = [(k, i, s.to_json()) for (k, i), s in one.entities.items()]
    as_text = [(k, i.upper(), json.dumps(s, indent=2)) for k, i, s in reversed(items)]
    other = [(k, i, s.to_json()) for (k, i), s in two.entities.items()]
    assert state_checksum(items) == state_checksum(as_text) == state_checksum(other)
    assert state_checksum(items[1:]) != state_checksum(items)
    assert state_checksum([]) == state_checksum([])
