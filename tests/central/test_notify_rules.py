"""The notification rules, pure: a fake "now", plain facts, what was claimed before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from central.notify.facts import DatedLot, Facts, LowProduct, NodePresence, ReviewReceipt
from central.notify.rules import DIGEST, Candidate, compose, digest_subject, plan
from central.notify.service import Tuning, backoff
from central.notify.settings import NotifySettings, QuietHours, SettingsIn

# 2026-12-01 is a Tuesday; Berlin is UTC+1 in December.
TODAY = date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: date = TODAY) -> datetime:
    """A UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def lot(name: str, days: int, lot_id: str | None = None) -> DatedLot:
    return DatedLot(
        lot_id or f"lot-{name}",
        name,
        TODAY + timedelta(days=days),
        amount=1,
        unit="pcs",
        location="Fridge",
    )


FACTS = Facts(
    lots=(lot("milk", 1), lot("yoghurt", -2), lot("cheese", 10), lot("bread", 0)),
    low=(LowProduct("p-coffee", "Coffee", 0, 2, "packs"),),
    receipts=(ReviewReceipt("r-1", "REWE", "23.40"),),
    nodes=(
        NodePresence("kitchen", False, at(5, 0)),
        NodePresence("cellar", False, at(8, 50)),
        NodePresence("pantry", True, at(1, 0)),
    ),
)


def settings(**changes: object) -> NotifySettings:
    return NotifySettings.model_validate(changes)


def by_rule(candidates: list[Candidate]) -> dict[str, Candidate]:
    return {c.rule: c for c in candidates}


def test_immediate_alerts_cover_each_rule_with_what_it_sees() -> None:
    out = by_rule(plan(settings(digest={"enabled": False}), FACTS, at(9, 0), set()))
    assert [i.data["name"] for i in out["expiring"].items] == ["bread", "milk"]
    assert [i.data["name"] for i in out["expired"].items] == ["yoghurt"]
    # below_min is digest-only by default
    assert "below_min" not in out
    assert [i.subject for i in out["receipt_review"].items] == ["r-1"]
    # cellar has been offline 10 minutes, under the 30 of the default
    assert [i.data["node"] for i in out["node_offline"].items] == ["kitchen"]
    assert out["expiring"].items[1].text == "milk (Fridge): best before tomorrow"


def test_what_was_claimed_is_not_planned_again() -> None:
    s = settings(digest={"enabled": False}, rules={"below_min": {"immediate": True}})
    first = plan(s, FACTS, at(9, 0), set())
    sent = {(c.rule, subject) for c in first for subject in c.subjects}
    assert plan(s, FACTS, at(9, 5), sent) == []
    # a new lot expiring is planned alone
    more = Facts(lots=(*FACTS.lots, lot("cream", 2)), low=FACTS.low, nodes=FACTS.nodes)
    again = plan(s, more, at(9, 10), sent)
    assert [(c.rule, [i.data["name"] for i in c.items]) for c in again] == [("expiring", ["cream"])]
    # below min is reminded once a day: the next day it is planned again
    next_day = by_rule(plan(s, FACTS, at(9, 0, TODAY + timedelta(days=1)), sent))
    assert [i.data["name"] for i in next_day["below_min"].items] == ["Coffee"]


def test_a_lot_whose_date_changes_is_a_new_subject() -> None:
    s = settings(digest={"enabled": False})
    sent = {(c.rule, x) for c in plan(s, FACTS, at(9), set()) for x in c.subjects}
    moved = Facts(lots=(lot("milk", 2),))
    assert [c.items[0].subject for c in plan(s, moved, at(9, 5), sent)] == [
        f"lot-milk@{(TODAY + timedelta(days=2)).isoformat()}"
    ]


def test_the_digest_comes_at_its_time_once_a_day_with_every_section() -> None:
    s = settings(
        timezone="Europe/Berlin",
        digest={"time": "07:30"},
        rules={r: {"immediate": False} for r in ("expiring", "expired", "receipt_review")}
        | {"node_offline": {"immediate": False}},
    )
    assert plan(s, FACTS, at(6, 29), set()) == []  # 07:29 in Berlin
    (digest,) = plan(s, FACTS, at(6, 30), set())
    assert digest.rule == DIGEST and digest.subjects == [digest_subject(TODAY)]
    assert [r for r, _items in digest.sections] == [
        "expiring",
        "expired",
        "below_min",
        "receipt_review",
        "node_offline",
    ]
    assert plan(s, FACTS, at(20, 0), {(DIGEST, digest_subject(TODAY))}) == []
    message = compose(DIGEST, [], [(r, list(i)) for r, i in digest.sections])
    assert message.title == "Kitchen: daily summary"
    assert "Expired:\n- yoghurt (Fridge): best before 2 days ago" in message.message
    assert {i["rule"] for i in message.items} == {
        "expiring",
        "expired",
        "below_min",
        "receipt_review",
        "node_offline",
    }


def test_the_day_is_the_households_day_not_utc() -> None:
    # 23:30 UTC on Dec 1 is 00:30 on Dec 2 in Berlin: milk (best before Dec 2) is due today.
    s = settings(timezone="Europe/Berlin", digest={"enabled": False})
    out = by_rule(plan(s, Facts(lots=(lot("milk", 1),)), at(23, 30), set()))
    assert out["expiring"].day == TODAY + timedelta(days=1)
    assert out["expiring"].items[0].text == "milk (Fridge): best before today"


def test_a_digest_switch_drops_a_section_and_an_empty_day_sends_nothing() -> None:
    s = settings(rules={"expired": {"digest": False}})
    (_exp, _expired, _rec, _node, digest) = plan(s, FACTS, at(8), set())
    assert "expired" not in [r for r, _ in digest.sections]
    assert [c.rule for c in plan(s, Facts(), at(8), set())] == []
    empty = settings(digest={"send_when_empty": True})
    (only,) = plan(empty, Facts(), at(8), set())
    assert compose(DIGEST, [], []).title == "Kitchen: nothing to report today"
    assert only.rule == DIGEST


@pytest.mark.parametrize("rule", ["expiring", "expired", "receipt_review", "node_offline"])
def test_each_immediate_rule_can_be_switched_off(rule: str) -> None:
    s = settings(digest={"enabled": False}, rules={rule: {"immediate": False}})
    rules = {c.rule for c in plan(s, FACTS, at(9), set())}
    assert rule not in rules
    assert len(rules) == 3


def test_nothing_is_planned_when_notifications_are_off() -> None:
    assert plan(settings(enabled=False), FACTS, at(9), set()) == []


def test_quiet_hours_hold_alerts_and_the_digest_until_they_end() -> None:
    s = settings(
        timezone="Europe/Berlin",
        quiet_hours={"enabled": True, "start": "22:00", "end": "08:00"},
        digest={"time": "07:00"},
    )
    assert plan(s, FACTS, at(21, 30), set()) == []  # 22:30 local
    assert plan(s, FACTS, at(6, 30, TODAY), set()) == []  # 07:30 local, digest time passed
    held = plan(s, FACTS, at(7, 0), set())  # 08:00 local: quiet hours are over
    assert {c.rule for c in held} == {
        "expiring",
        "expired",
        "receipt_review",
        "node_offline",
        DIGEST,
    }


def test_quiet_hours_within_a_day_and_spanning_midnight() -> None:
    from datetime import time

    night = QuietHours(enabled=True, start="22:00", end="07:00")
    assert night.contains(time(23, 0)) and night.contains(time(6, 59))
    assert not night.contains(time(7, 0)) and not night.contains(time(21, 59))
    noon = QuietHours(enabled=True, start="12:00", end="14:00")
    assert noon.contains(time(12, 0)) and not noon.contains(time(14, 0))
    assert not QuietHours(enabled=False).contains(time(23, 0))


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"digest": {"time": "7:30"}}, "digest.time"),
        ({"quiet_hours": {"start": "24:00"}}, "quiet_hours.start"),
        ({"horizon_days": -1}, "horizon_days"),
        ({"rules": {"expiring": {"immediately": True}}}, "rules.expiring.immediately"),
        ({"urls": [{"url": "nonsense://x"}]}, "urls.0"),
        ({"urls": [{"url": "no scheme"}]}, "urls.0"),
        ({"urls": [{"id": "apprise:0123456789ab", "url": "json://x"}]}, "urls.0"),
        ({"urls": [{"id": "not-an-id"}]}, "urls.0.id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_name_the_key(body: dict[str, object], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SettingsIn.model_validate(body)
    locs = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert any(loc.startswith(where) for loc in locs), locs


def test_backoff_doubles_up_to_its_cap() -> None:
    t = Tuning(retry=timedelta(seconds=60), retry_max=timedelta(minutes=10))
    assert [backoff(t, n).total_seconds() for n in (1, 2, 3, 4, 5, 50)] == [
        60,
        120,
        240,
        480,
        600,
        600,
    ]


def test_use_by_is_the_stricter_date_as_on_the_dashboard() -> None:
    s = settings(digest={"enabled": False})
    ham = DatedLot("lot-ham", "Ham", TODAY + timedelta(days=5), TODAY - timedelta(days=1))
    fish = DatedLot("lot-fish", "Fish", None, TODAY + timedelta(days=1))
    out = by_rule(plan(s, Facts(lots=(ham, fish)), at(9), set()))
    (expired,) = out["expired"].items
    assert expired.data["state"] == "expired"
    assert expired.text == "Ham: expired yesterday (use by)"
    assert expired.subject == f"lot-ham@{(TODAY - timedelta(days=1)).isoformat()}"
    (soon,) = out["expiring"].items
    assert soon.text == "Fish: use by tomorrow"


def test_the_horizon_is_the_households_unless_the_settings_name_one() -> None:
    far = Facts(lots=(lot("jam", 5),), horizon_days=7)
    assert [c.rule for c in plan(settings(digest={"enabled": False}), far, at(9), set())] == [
        "expiring"
    ]
    own = settings(digest={"enabled": False}, horizon_days=2)
    assert plan(own, far, at(9), set()) == []


def test_lots_of_one_name_and_date_are_ordered_by_id() -> None:
    twins = Facts(lots=(lot("milk", 1, "lot-b"), lot("milk", 1, "lot-a"), lot("egg", -1, "e")))
    out = by_rule(plan(settings(digest={"enabled": False}), twins, at(9), set()))
    assert [i.data["lot_id"] for i in out["expiring"].items] == ["lot-a", "lot-b"]


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("ntfy://kitchen-7f3a9c2e", "kitchen-7f3a9c2e"),  # on ntfy.sh the topic is the secret
        ("ntfys://alice:pa55word@ntfy.example.org/kitchen-topic", "pa55word"),
        ("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/987654321", "AAHdqTcv"),
        ("mailtos://alice:app-password@gmail.com?to=bob@example.org", "app-password"),
        ("json://127.0.0.1:8080/hook/SECRETKEY?token=abc123", "SECRETKEY"),
        ("json://127.0.0.1:8080/hook?token=abc123", "abc123"),
    ],
)
def test_a_shown_url_hides_its_secrets(url: str, secret: str) -> None:
    from central.notify.targets import masked

    shown = masked(url)
    assert secret not in shown
    assert shown.split("://")[0] in ("ntfy", "ntfys", "tgram", "mailtos", "json")
