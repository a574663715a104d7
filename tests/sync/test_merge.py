"""Joining states equals folding the union of their events (what snapshots rely on)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.fold import Household
from appliance.core.merge import join, merge_json
from tests.fakes.events import EventFactory

ALPHA = EventFactory("alpha").scans(40)
BETA = EventFactory("beta").scans(40)
# Events of both origins that touch the same entities: beta consumes alpha's lots too.
SHARED = [e for e in ALPHA if e.type == "stock.purchased"][:5]
_beta = EventFactory("beta", seq=100, lamport=100)
CROSS = [_beta.consume(e.data["product_id"], e.entity_id, 1) for e in SHARED]
ALL = ALPHA + BETA + CROSS


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=len(ALL), max_size=len(ALL)), st.randoms())
def test_join_of_two_sides_equals_fold_of_the_union(sides: list[bool], rng) -> None:
    left, right, union = Household(), Household(), Household()
    for event, goes_left in zip(ALL, sides, strict=True):
        (left if goes_left else right).apply(event)
        if rng.random() < 0.3:  # some events on both sides
            (right if goes_left else left).apply(event)
    union.apply_all(ALL)
    merged = dict(left.entities)
    for key, entity in right.entities.items():
        merged[key] = join(merged[key], entity) if key in merged else entity
    as_json = {f"{k}:{i}": s.to_json() for (k, i), s in sorted(merged.items())}
    assert as_json == union.snapshot()


def test_merge_json_with_nothing_local() -> None:
    house = Household()
    house.apply_all(ALPHA)
    (kind, entity_id), state = next(iter(house.entities.items()))
    assert merge_json(kind, entity_id, None, state.to_json()).to_json() == state.to_json()
    assert merge_json(kind, entity_id, state.to_json(), state.to_json()).to_json() == (
        state.to_json()
    )
