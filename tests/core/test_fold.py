"""The fold reaches one state from a set of events, whatever the order and duplicates."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core import events as ev
from appliance.core.entities import SETTINGS_ID
from appliance.core.events import Event
from appliance.core.fold import Household, touched

PRODUCTS = [str(uuid.UUID(int=i + 1)) for i in range(2)]
LOTS = [str(uuid.UUID(int=100 + i)) for i in range(4)]
MATCHES = [str(uuid.UUID(int=300 + i)) for i in range(2)]
SHOPPING = [str(uuid.UUID(int=200 + i)) for i in range(2)]
LOCATIONS = [str(uuid.UUID(int=300 + i)) for i in range(2)]
ORIGINS = ["alpha", "beta", "gamma"]
CODES = ["4006381333931", "5000159484695", "LOCAL-1"]

amounts = st.sampled_from([0.5, 1, 2, 3.25, 10])
dates = st.sampled_from([None, "2026-12-01", "2027-01-15"])


@st.composite
def event_bodies(draw: st.DrawFn, known_ids: list[str]) -> tuple[str, str, dict]:
    """A random (type, entity_id, data) touching a small pool of entities."""
    kind = draw(
        st.sampled_from(
            [
                ev.PRODUCT_CREATED,
                ev.PRODUCT_UPDATED,
                ev.PRODUCT_DELETED,
                ev.LOCATION_CREATED,
                ev.STOCK_PURCHASED,
                ev.STOCK_CONSUMED,
                ev.STOCK_SPOILED,
                ev.STOCK_OPENED,
                ev.STOCK_TRANSFERRED,
                ev.STOCK_RECOUNTED,
                ev.STOCK_REMOVED,
                ev.LOT_UPDATED,
                ev.JOURNAL_UNDONE,
                ev.SHOPPING_ADDED,
                ev.SHOPPING_UPDATED,
                ev.SHOPPING_PURCHASED,
                ev.SHOPPING_REMOVED,
                ev.PRODUCT_BARCODES,
                ev.PRODUCT_MERGED,
                ev.LOCATION_UPDATED,
                ev.SETTINGS_CHANGED,
                ev.MATCH_LEARNED,
            ]
        )
    )
    lot = draw(st.sampled_from(LOTS))
    # A lot belongs to one product, as on a real node.
    product = PRODUCTS[LOTS.index(lot) % len(PRODUCTS)]
    if kind in (ev.PRODUCT_CREATED, ev.PRODUCT_UPDATED, ev.PRODUCT_DELETED):
        product = draw(st.sampled_from(PRODUCTS))
    if kind in (ev.PRODUCT_CREATED, ev.PRODUCT_UPDATED):
        fields = {"name": draw(st.sampled_from(["Milk", "Milch", "Oat milk"]))}
        if draw(st.booleans()):
            fields["min_stock"] = draw(amounts)
        return kind, product, {"fields": fields}
    if kind == ev.PRODUCT_DELETED:
        return kind, product, {}
    if kind == ev.PRODUCT_BARCODES:
        codes = st.lists(st.sampled_from(CODES), max_size=2, unique=True)
        return kind, product, {"add": draw(codes), "remove": draw(codes)}
    if kind == ev.PRODUCT_MERGED:
        return kind, product, {"into": draw(st.sampled_from(PRODUCTS))}
    if kind == ev.MATCH_LEARNED:
        # Two shops' texts, each learned as one of the products: last writer wins per pair.
        match = draw(st.sampled_from(MATCHES))
        fields = {"merchant": "rewe", "text": "vollmilch", "product_id": product}
        return kind, match, {"fields": fields}
    if kind == ev.SETTINGS_CHANGED:
        days = draw(st.integers(min_value=0, max_value=14))
        return kind, SETTINGS_ID, {"fields": {"due_soon_days": days}}
    if kind in (ev.LOCATION_CREATED, ev.LOCATION_UPDATED):
        fields: dict = {"name": draw(st.sampled_from(["Fridge", "Freezer"]))}
        if draw(st.booleans()):
            fields["freezer"] = draw(st.booleans())
            fields["sort_key"] = draw(st.integers(min_value=-5, max_value=5))
        return kind, draw(st.sampled_from(LOCATIONS)), {"fields": fields}
    if kind == ev.STOCK_PURCHASED:
        lot_fields = {"best_before": draw(dates), "location_id": draw(st.sampled_from(LOCATIONS))}
        data = {"product_id": product, "amount": draw(amounts), "lot": lot_fields}
        if known_ids and draw(st.booleans()):
            others = [x for x in LOTS if x != lot and PRODUCTS[LOTS.index(x) % 2] == product]
            seen = draw(st.lists(st.sampled_from(known_ids), max_size=3))
            data["settles"] = [{"lot_id": draw(st.sampled_from(others)), "seen": seen}]
        return kind, lot, data
    if kind in (ev.STOCK_CONSUMED, ev.STOCK_SPOILED):
        lots = [x for x in LOTS if PRODUCTS[LOTS.index(x) % len(PRODUCTS)] == product]
        lots = draw(st.lists(st.sampled_from(lots), min_size=1, max_size=3))
        data = {
            "product_id": product,
            "lots": [{"lot_id": x, "amount": draw(amounts)} for x in lots],
        }
        return kind, product, data
    if kind in (ev.STOCK_OPENED, ev.STOCK_TRANSFERRED):
        data: dict = {"product_id": product, "lot_id": lot}
        if kind == ev.STOCK_OPENED:
            data["opened_on"] = "2026-11-25"
        else:
            data["location_id"] = draw(st.sampled_from(LOCATIONS))
        if draw(st.booleans()):
            siblings = [x for x in LOTS if x != lot and PRODUCTS[LOTS.index(x) % 2] == product]
            data["new_lot_id"] = draw(st.sampled_from(siblings))
            data["amount"] = draw(amounts)
            data["lot"] = {"best_before": draw(dates)}
        if draw(st.booleans()):
            data["fields"] = {"best_before": draw(dates)}
        return kind, lot, data
    if kind == ev.STOCK_RECOUNTED:
        seen = draw(st.lists(st.sampled_from(known_ids), max_size=4)) if known_ids else []
        data = {"product_id": product, "lot_id": lot, "amount": draw(amounts), "seen": seen}
        return kind, lot, data
    if kind == ev.STOCK_REMOVED:
        return kind, lot, {"product_id": product, "lot_id": lot}
    if kind == ev.LOT_UPDATED:
        data = {"product_id": product, "lot_id": lot, "fields": {"best_before": draw(dates)}}
        return kind, lot, data
    if kind == ev.JOURNAL_UNDONE:
        target = draw(st.sampled_from(known_ids)) if known_ids else str(uuid.uuid4())
        lots = draw(st.lists(st.sampled_from(LOTS), min_size=1, max_size=2, unique=True))
        return kind, target, {"target": target, "lot_ids": lots}
    entry = draw(st.sampled_from(SHOPPING))
    if kind == ev.SHOPPING_ADDED:
        return (
            kind,
            entry,
            {"fields": {"text": "Eggs", "amount": draw(amounts), "purchased": False}},
        )
    if kind == ev.SHOPPING_UPDATED:
        return kind, entry, {"fields": {"priority": draw(st.sampled_from(["urgent", "low"]))}}
    if kind == ev.SHOPPING_PURCHASED:
        return kind, entry, {}
    tags = draw(st.lists(st.sampled_from(known_ids), max_size=3)) if known_ids else []
    return kind, entry, {"tags": tags}


@st.composite
def event_sets(draw: st.DrawFn) -> list[Event]:
    """A set of valid events from several origins with gap-free sequences."""
    result: list[Event] = []
    seqs = dict.fromkeys(ORIGINS, 0)
    for i in range(draw(st.integers(min_value=1, max_value=40))):
        origin = draw(st.sampled_from(ORIGINS))
        seqs[origin] += 1
        kind, entity_id, data = draw(event_bodies([e.event_id for e in result]))
        ev.validate_data(kind, data)
        result.append(
            Event(
                event_id=str(uuid.UUID(int=10_000 + i)),
                origin=origin,
                seq=seqs[origin],
                lamport=draw(st.integers(min_value=1, max_value=12)),
                type=kind,
                entity_id=entity_id,
                data=data,
            )
        )
    return result


def _fold(events: list[Event]) -> Household:
    household = Household()
    household.apply_all(events)
    return household


def _views(household: Household) -> dict:
    return {key: entity.view() for key, entity in sorted(household.entities.items())}


@settings(max_examples=300, deadline=None)
@given(events=event_sets(), data=st.data())
def test_any_order_with_duplicates_gives_one_state(
    events: list[Event], data: st.DataObject
) -> None:
    reference = _fold(events)
    shuffled = data.draw(st.permutations(events))
    duplicates = data.draw(st.lists(st.sampled_from(events), max_size=10))
    mixed = data.draw(st.permutations(shuffled + duplicates))
    other = _fold(mixed)
    assert other.snapshot() == reference.snapshot()
    assert _views(other) == _views(reference)


@settings(max_examples=100, deadline=None)
@given(events=event_sets())
def test_every_generated_event_round_trips_through_the_wire_form(events: list[Event]) -> None:
    for event in events:
        wire = event.to_dict()
        wire["timestamp"] = "1970-01-01T00:00:00.000Z"
        parsed = ev.parse_event(wire)
        assert parsed.data == event.data
        assert touched(parsed) == touched(event)


def _event(seq: int, kind: str, entity_id: str, data: dict, lamport: int = 1) -> Event:
    return Event(str(uuid.UUID(int=50_000 + seq)), "alpha", seq, lamport, kind, entity_id, data)


def test_stock_is_the_sum_of_deltas_and_a_recount_keeps_unseen_deltas() -> None:
    product, lot = PRODUCTS[0], LOTS[0]
    buy = _event(1, ev.STOCK_PURCHASED, lot, {"product_id": product, "amount": 6, "lot": {}})
    take = _event(
        2,
        ev.STOCK_CONSUMED,
        product,
        {"product_id": product, "lots": [{"lot_id": lot, "amount": 1}]},
    )
    recount = _event(
        3,
        ev.STOCK_RECOUNTED,
        lot,
        {"product_id": product, "lot_id": lot, "amount": 4, "seen": [buy.event_id]},
        lamport=2,
    )
    household = _fold([take, recount, buy])
    # The recount saw the purchase but not the consume: 4 - 1.
    assert household.entities[("lot", lot)].view()["amount"] == 3.0


def test_undo_excludes_a_delta_even_when_it_arrives_first() -> None:
    product, lot = PRODUCTS[0], LOTS[0]
    buy = _event(1, ev.STOCK_PURCHASED, lot, {"product_id": product, "amount": 2, "lot": {}})
    take = _event(
        2,
        ev.STOCK_CONSUMED,
        product,
        {"product_id": product, "lots": [{"lot_id": lot, "amount": 3}]},
    )
    undo = _event(3, ev.JOURNAL_UNDONE, take.event_id, {"target": take.event_id, "lot_ids": [lot]})
    state = _fold([undo, take, buy]).entities[("lot", lot)]
    assert state.view()["amount"] == 2.0
    assert state.view()["needs_recount"] is False
    assert _fold([buy, take]).entities[("lot", lot)].view()["needs_recount"] is True


def test_shopping_add_wins_over_a_concurrent_remove() -> None:
    entry = SHOPPING[0]
    add1 = _event(1, ev.SHOPPING_ADDED, entry, {"fields": {"text": "Eggs"}})
    remove = _event(2, ev.SHOPPING_REMOVED, entry, {"tags": [add1.event_id]})
    add2 = _event(3, ev.SHOPPING_ADDED, entry, {"fields": {"text": "Eggs"}})
    assert not _fold([add1, remove]).entities[("shopping", entry)].present
    assert _fold([add2, remove, add1]).entities[("shopping", entry)].present


def test_a_purchase_settles_the_shortfall_it_saw_but_not_a_concurrent_one() -> None:
    """Two unrecorded consumes (-2), then a purchase of 3: 3 in stock, no recount asked.
    A consume elsewhere that the purchase had not seen still counts (and asks for one)."""
    product, deficit, bought = PRODUCTS[0], LOTS[0], LOTS[2]
    take = [
        _event(
            n,
            ev.STOCK_CONSUMED,
            product,
            {"product_id": product, "lots": [{"lot_id": deficit, "amount": 1}]},
        )
        for n in (1, 2)
    ]
    buy = _event(
        3,
        ev.STOCK_PURCHASED,
        bought,
        {
            "product_id": product,
            "amount": 3,
            "lot": {},
            "settles": [{"lot_id": deficit, "seen": [e.event_id for e in take]}],
        },
        lamport=3,
    )
    household = _fold([buy, *take])
    lots = {lot: household.entities[("lot", lot)] for lot in (deficit, bought)}
    assert (lots[deficit].milli, lots[bought].milli) == (0, 3000)
    assert not lots[deficit].active
    unseen = _event(
        4,
        ev.STOCK_CONSUMED,
        product,
        {"product_id": product, "lots": [{"lot_id": deficit, "amount": 1}]},
        lamport=2,
    )
    later = _fold([unseen, buy, *take]).entities[("lot", deficit)]
    assert later.view()["needs_recount"] is True
    undo = _event(5, ev.JOURNAL_UNDONE, buy.event_id,
                  {"target": buy.event_id, "lot_ids": [bought, deficit]})  # fmt: skip
    assert _fold([*take, buy, undo]).entities[("lot", deficit)].milli == -2000


def test_barcodes_added_on_two_nodes_at_once_are_both_kept() -> None:
    product = PRODUCTS[0]
    create = _event(1, ev.PRODUCT_CREATED, product,
                    {"fields": {"name": "Tea", "barcodes": [CODES[0]]}})  # fmt: skip
    a = Event(str(uuid.UUID(int=60_001)), "alpha", 2, 2, ev.PRODUCT_BARCODES, product,
              {"add": [CODES[1]]})  # fmt: skip
    b = Event(str(uuid.UUID(int=60_002)), "beta", 1, 2, ev.PRODUCT_BARCODES, product,
              {"add": [CODES[2]], "remove": [CODES[0]]})  # fmt: skip
    for order in ([create, a, b], [b, a, create]):
        view = _fold(order).entities[("product", product)].view()
        assert view["barcodes"] == [CODES[1], CODES[2]]


def test_moving_into_a_freezer_writes_the_new_date_with_the_move() -> None:
    product, lot = PRODUCTS[0], LOTS[0]
    bought = {"product_id": product, "amount": 1, "lot": {"best_before": "2026-12-05"}}
    buy = _event(1, ev.STOCK_PURCHASED, lot, bought)
    move = _event(2, ev.STOCK_TRANSFERRED, lot,
                  {"product_id": product, "lot_id": lot, "location_id": LOCATIONS[1],
                   "fields": {"best_before": "2027-06-01"}}, lamport=2)  # fmt: skip
    assert _fold([move, buy]).entities[("lot", lot)].view()["best_before"] == "2027-06-01"
    undo = _event(3, ev.JOURNAL_UNDONE, move.event_id,
                  {"target": move.event_id, "lot_ids": [lot]})  # fmt: skip
    view = _fold([buy, undo, move]).entities[("lot", lot)].view()
    assert (view["best_before"], view["location_id"]) == ("2026-12-05", None)
