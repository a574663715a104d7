"""Joining two states of the same entity (for snapshots): the result covers both event sets.

Every part of an entity state grows by event id (deltas, writes, recounts, undos, tags) or is a
last-writer-wins register ordered by (Lamport, origin, event id), so the join of the states of
two event sets equals the state of their union. A node merges snapshot pages from central with
what it has (including its own events central has not seen yet) with this.
"""

from __future__ import annotations

from typing import Any

from appliance.core.entities import (
    Entity,
    Kind,
    LocationState,
    LotState,
    LwwFields,
    MatchState,
    ProductState,
    SettingsState,
    ShoppingState,
    entity_from_json,
)


def _join_fields(a: LwwFields, b: LwwFields) -> LwwFields:
    out = LwwFields(dict(a.values))
    for name, (stamp, value) in b.values.items():
        out.write(stamp, name, value)
    return out


def join(a: Entity, b: Entity) -> Entity:
    """The least state that covers both ``a`` and ``b`` (same kind and id)."""
    if a.kind != b.kind or a.id != b.id:
        raise ValueError("can only join two states of the same entity")
    if isinstance(a, ProductState) and isinstance(b, ProductState):
        return ProductState(a.id, _join_fields(a.fields, b.fields))
    if isinstance(a, LocationState) and isinstance(b, LocationState):
        return LocationState(a.id, _join_fields(a.fields, b.fields))
    if isinstance(a, SettingsState) and isinstance(b, SettingsState):
        return SettingsState(a.id, _join_fields(a.fields, b.fields))
    if isinstance(a, MatchState) and isinstance(b, MatchState):
        return MatchState(a.id, _join_fields(a.fields, b.fields))
    if isinstance(a, ShoppingState) and isinstance(b, ShoppingState):
        return ShoppingState(
            a.id, a.tags | b.tags, a.removed | b.removed, _join_fields(a.fields, b.fields)
        )
    assert isinstance(a, LotState) and isinstance(b, LotState)
    products = [p for p in (a.product_id, b.product_id) if p is not None]
    writes: dict[str, dict[str, tuple[int, str, Any]]] = {}
    for source in (a.writes, b.writes):
        for name, by_event in source.items():
            writes.setdefault(name, {}).update(by_event)
    return LotState(
        a.id,
        min(products) if products else None,
        writes,
        {**a.deltas, **b.deltas},
        {**a.recounts, **b.recounts},
        a.undone | b.undone,
    )


def merge_json(
    kind: Kind, entity_id: str, local: dict[str, Any] | None, remote: dict[str, Any]
) -> Entity:
    """Join a stored state (``None`` when absent) with one from a snapshot page."""
    theirs = entity_from_json(kind, entity_id, remote)
    if local is None:
        return theirs
    return join(entity_from_json(kind, entity_id, local), theirs)


def max_lamport(entity: Entity) -> int:
    """The highest Lamport clock among the writes a state holds (0 if none).

    A node that takes a state from a snapshot must run its own clock past this, or its next
    edit would lose to writes it has already seen.
    """
    stamps: list[int] = []
    if isinstance(entity, LotState):
        stamps.extend(w[0] for writes in entity.writes.values() for w in writes.values())
        stamps.extend(r.lamport for r in entity.recounts.values())
    else:
        stamps.extend(stamp[0] for stamp, _ in entity.fields.values.values())
    return max(stamps, default=0)
