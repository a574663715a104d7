"""Identifiers: the fast paths give exactly what the uuid module would."""

from __future__ import annotations

import uuid

import pytest

from appliance.core import ids

NAMES = ["", "product:4006381333931", "product:Käse ⟨frisch⟩ 😀", "location:fridge", "x" * 500]


@pytest.mark.parametrize("name", NAMES)
def test_derived_ids_are_uuid5_of_the_namespace(name: str) -> None:
    # Every node derives the same ids: they must stay uuid5's, byte for byte.
    assert ids._uuid5(name) == str(uuid.uuid5(ids._NAMESPACE, name))


def test_known_derived_ids_do_not_change() -> None:
    assert ids.product_id_for_code("4006381333931") == str(
        uuid.uuid5(uuid.UUID("6f1c3a52-2b7e-4d1a-9a43-0c5b8e7d2f10"), "product:4006381333931")
    )
    assert ids.seed_location_id("fridge") == str(uuid.uuid5(ids._NAMESPACE, "location:fridge"))
    assert ids.auto_shopping_id("p") == str(uuid.uuid5(ids._NAMESPACE, "auto-shopping:p"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0190c3a2-1234-7abc-8def-0123456789ab", True),
        ("0190C3A2-1234-7ABC-8DEF-0123456789AB", True),
        ("{0190c3a2-1234-7abc-8def-0123456789ab}", False),
        ("urn:uuid:0190c3a2-1234-7abc-8def-0123456789ab", False),
        ("0190c3a212347abc8def0123456789ab", False),
        ("0190c3a2-1234-7abc-8def-0123456789ab\n", False),
        ("0190c3a2-1234-7abc-8def-0123456789a", False),
        ("0190c3a2-1234-7abc-8def-0123456789ag", False),
        ("", False),
    ],
)
def test_is_uuid_accepts_the_canonical_form_only(text: str, expected: bool) -> None:
    assert ids.is_uuid(text) is expected


def test_new_ids_are_canonical_version_7() -> None:
    made = {ids.new_id() for _ in range(100)}
    assert len(made) == 100
    assert all(ids.is_uuid(i) and uuid.UUID(i).version == 7 for i in made)
