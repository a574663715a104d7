"""The scan box's display in the node's language ([node] language = "de"): German texts,
German dates and amounts, compared with golden PNGs; English stays as it was."""

from __future__ import annotations

import asyncio

import pytest
from hwfakes import assert_golden
from luma.core.device import dummy

from appliance.config import build_config
from appliance.core.messages import Message
from appliance.hardware.config import DisplayConfig
from appliance.hardware.display import Display
from appliance.hardware.screens import TEXTS, DisplayState, amount_line, render, text

GERMAN = {
    "de_mode_consume": DisplayState(screen="mode", mode="consume", language="de"),
    "de_idle_expiring": DisplayState(
        screen="idle",
        mode="add",
        language="de",
        expiring=("Joghurt Natur · heute", "Bärlauch-Pesto · in 2 Tagen"),
    ),
    "de_result_added": DisplayState(
        screen="result",
        outcome="added",
        product="Größter Bio-Frischkäse Kräuter",
        detail="1,5 kg im Vorrat",
        best_before="2027-03-15",
        language="de",
    ),
    "de_disconnected": DisplayState(
        screen="disconnected", scanner_connected=False, sync_connected=False, language="de"
    ),
}


@pytest.mark.parametrize("name", sorted(GERMAN))
def test_german_screen_matches_golden(name: str) -> None:
    """Each German screen as drawn once and looked at."""
    assert_golden(render(GERMAN[name]), f"screen_{name}")


def test_both_catalogues_have_the_same_keys() -> None:
    """A text missing in one language fails here, not on the display."""
    assert set(TEXTS["en"]) == set(TEXTS["de"])


def test_texts_dates_and_amounts_follow_the_language() -> None:
    """German words, a German decimal comma; unknown languages read as English."""
    assert text("de", "outcome.added") == "EINGELAGERT"
    assert text("fr", "outcome.added") == "ADDED"
    assert amount_line("de", 1.5, "kg") == "1,5 kg im Vorrat"
    assert amount_line("de", 3, "piece") == "3 Stk. im Vorrat"
    assert amount_line("en", 3, "piece") == "3 pcs in stock"


def test_node_language_is_a_checked_config_key() -> None:
    """[node] language takes en or de, nothing else."""
    assert build_config({"node": {"language": "de"}}).node.language == "de"
    assert build_config({}).node.language == "en"
    with pytest.raises(Exception, match="language"):
        build_config({"node": {"language": "fr"}})


async def test_display_outlet_shows_a_scan_in_german() -> None:
    """The outlet given the node's language renders a scan result in German."""
    device = dummy(width=128, height=64, mode="1")
    display = Display(DisplayConfig(type="dummy"), "kitchen", device, language="de")
    await display.start()
    try:
        outcome = {
            "outcome": "consumed",
            "station_id": "kitchen",
            "product": {"name": "Milch", "unit": "ml"},
            "total": 1500,
            "lot": {"best_before": "2027-03-15"},
        }
        display.deliver(Message("scanner.scan", None, outcome))
        await asyncio.wait_for(display.flush(), 5)
        assert display.state.outcome == "consumed"
        assert display.state.detail == "1500 ml im Vorrat"
        assert device.image.convert("1").tobytes() == render(display.state).tobytes()
    finally:
        await display.close()
