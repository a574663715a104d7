"""The gate for node batches: validate, commit, and say what to acknowledge.

Order of work for one message: size and JSON checks → per-event schema and origin checks →
one PostgreSQL transaction → only then an ``Ack`` is built. Anything refused is written to the
dead-letter table (or quarantine) with its reason and acknowledged as rejected, so that the
node stops resending it. Nothing is acknowledged as accepted unless it is committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from appliance.core import wirejson
from appliance.core.events import Event, EventError, parse_event
from appliance.sync.protocol import CENTRAL_ORIGIN, Ack, Batch, ProtocolError, decode
from central.db.store import CommitResult, EventStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestOutcome:
    """The ack to send (``None`` when the message had no usable batch id) and what to fan out."""

    ack: Ack | None
    commit: CommitResult = field(default_factory=CommitResult)

    @property
    def to_fan_out(self) -> list[Event]:
        """New events, and duplicates: a resend after a crash between commit and fan-out."""
        return self.commit.new + self.commit.duplicates


def _raw_bytes(raw: object) -> bytes:
    try:
        return json.dumps(raw, ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return repr(raw).encode()


async def ingest(
    store: EventStore,
    topic: str,
    node: str,
    payload: bytes,
    *,
    max_bytes: int,
    max_events: int,
) -> IngestOutcome:
    """Handle one message from ``kitchen/v1/{household}/node/{node}/events``."""
    try:
        batch = Batch.parse(decode(payload, max_bytes))
    except ProtocolError as exc:
        log.warning("dead-lettered a message on %s: %s", topic, exc)
        await store.dead_letter(topic, str(exc), payload)
        batch_id, ids = _ids_of(payload, max_bytes)
        if batch_id is None:
            return IngestOutcome(None)
        return IngestOutcome(Ack(batch_id, rejected=[(i, str(exc)) for i in ids]))
    if len(batch.events) > max_events:
        too_many = f"batch of {len(batch.events)} events exceeds the limit of {max_events}"
        await store.dead_letter(topic, too_many, payload)
        refused = [
            (e["event_id"], too_many)
            for e in batch.events
            if isinstance(e, dict) and isinstance(e.get("event_id"), str)
        ]
        return IngestOutcome(Ack(batch.batch_id, rejected=refused))

    valid: list[Event] = []
    rejected: list[tuple[str, str]] = []
    for raw in batch.events:
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        reason: str | None = _check(raw, node)
        if reason is None:
            try:
                valid.append(parse_event(raw))
                continue
            except EventError as exc:
                reason = f"invalid event: {exc}"
        reason = reason or "invalid event"
        log.warning("dead-lettered event %s from %s: %s", event_id, node, reason)
        await store.dead_letter(
            topic, reason, _raw_bytes(raw), event_id if isinstance(event_id, str) else None
        )
        if isinstance(event_id, str):
            rejected.append((event_id, reason))

    result = await store.commit(valid, topic) if valid else CommitResult()
    for item in result.quarantined:
        log.warning("quarantined event %s from %s: %s", item.event_id, node, item.reason)
        if item.event_id is not None:
            rejected.append((item.event_id, item.reason))
    return IngestOutcome(Ack(batch.batch_id, result.accepted_ids, rejected), result)


def _check(raw: object, node: str) -> str | None:
    """Checks beyond the event schema: the origin must be the node the topic belongs to."""
    if not isinstance(raw, dict):
        return "invalid event: not a JSON object"
    origin = raw.get("origin")
    if origin == CENTRAL_ORIGIN or origin != node:
        return f"origin {origin!r} does not match the node topic {node!r}"
    # PostgreSQL's jsonb cannot hold U+0000; refuse it here with a reason, not a crash.
    if "\\u0000" in json.dumps(raw):
        return "invalid event: text contains U+0000"
    return None


def _ids_of(payload: bytes, max_bytes: int) -> tuple[str | None, list[str]]:
    """Batch and event ids of a payload refused as a whole, so the node stops resending it."""
    if len(payload) > max_bytes:
        return None, []
    try:
        value = wirejson.loads(payload)
    except ValueError:  # malformed, or nested too deeply to look into
        return None, []
    if not isinstance(value, dict):
        return None, []
    batch_id = value.get("batch_id")
    if not isinstance(batch_id, str) or len(batch_id) > 64:
        return None, []
    events = value.get("events")
    ids = [
        e["event_id"]
        for e in (events if isinstance(events, list) else [])
        if isinstance(e, dict) and isinstance(e.get("event_id"), str)
    ]
    return batch_id, ids
