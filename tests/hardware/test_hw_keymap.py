"""The key-event decoder, fed synthetic evdev events (no /dev access)."""

from __future__ import annotations

import biip
from evdev import InputEvent, ecodes

from appliance.hardware.keymap import GS, KEY_DOWN, KEY_HOLD, KEY_UP, ScanDecoder, text_to_events

E = ecodes


def key(code: int, value: int = KEY_DOWN, t: float = 0.0) -> InputEvent:
    return InputEvent(int(t), round((t - int(t)) * 1e6), E.EV_KEY, code, value)


def tap(code: int, t: float = 0.0) -> list[InputEvent]:
    return [key(code, KEY_DOWN, t), key(code, KEY_UP, t)]


def chord(mods: list[int], code: int, t: float = 0.0) -> list[InputEvent]:
    return [key(m, KEY_DOWN, t) for m in mods] + tap(code, t) + [key(m, KEY_UP, t) for m in mods]


def decode(events: list[InputEvent], **kwargs: object) -> list[str]:
    decoder = ScanDecoder(**kwargs)  # type: ignore[arg-type]
    out: list[str] = []
    for event in events:
        out.extend(decoder.feed(event))
    return out


def test_every_printable_ascii_character_round_trips() -> None:
    text = "".join(chr(c) for c in range(32, 127))
    assert decode(text_to_events(text)) == [text]


def test_letters_follow_shift_and_caps_lock() -> None:
    events = (
        tap(E.KEY_A)
        + chord([E.KEY_RIGHTSHIFT], E.KEY_B)
        + tap(E.KEY_CAPSLOCK)
        + tap(E.KEY_C)
        + chord([E.KEY_LEFTSHIFT], E.KEY_D)  # Shift under Caps Lock gives lower case
        + chord([E.KEY_LEFTSHIFT], E.KEY_1)  # Caps Lock does not shift digits
        + tap(E.KEY_CAPSLOCK)
        + tap(E.KEY_E)
        + tap(E.KEY_ENTER)
    )
    assert decode(events) == ["aBCd!e"]


def test_caps_lock_state_can_start_on() -> None:
    assert decode(tap(E.KEY_X) + tap(E.KEY_ENTER), caps_lock=True) == ["X"]


def test_keypad_digits_and_keypad_enter() -> None:
    events = [*tap(E.KEY_KP4), *tap(E.KEY_KP0), *tap(E.KEY_KPDOT), *tap(E.KEY_KPMINUS)]
    assert decode([*events, *tap(E.KEY_KPENTER)]) == ["40.-"]


def test_all_four_group_separator_forms() -> None:
    ctrl = chord([E.KEY_LEFTCTRL], E.KEY_RIGHTBRACE)
    alt_029 = [key(E.KEY_LEFTALT), *tap(E.KEY_KP0), *tap(E.KEY_KP2), *tap(E.KEY_KP9)]
    alt_029 += [key(E.KEY_LEFTALT, KEY_UP)]
    alt_0029 = [key(E.KEY_RIGHTALT), *tap(E.KEY_KP0), *tap(E.KEY_KP0), *tap(E.KEY_KP2)]
    alt_0029 += [*tap(E.KEY_KP9), key(E.KEY_RIGHTALT, KEY_UP)]
    f12 = tap(E.KEY_F12)
    substitute = chord([E.KEY_LEFTSHIFT], E.KEY_GRAVE)  # "~"
    for form in (ctrl, alt_029, alt_0029, f12, substitute):
        events = [*tap(E.KEY_1), *form, *tap(E.KEY_2), *tap(E.KEY_ENTER)]
        assert decode(events, gs_substitute="~") == [f"1{GS}2"], form


def test_substitute_is_only_replaced_when_configured() -> None:
    events = [*chord([E.KEY_LEFTSHIFT], E.KEY_GRAVE), *tap(E.KEY_ENTER)]
    assert decode(events) == ["~"]


def test_alt_codes_for_other_characters() -> None:
    def alt(digits: str) -> list[InputEvent]:
        pads = {str(i): getattr(E, f"KEY_KP{i}") for i in range(10)}
        return [key(E.KEY_LEFTALT), *[e for d in digits for e in tap(pads[d])],
                key(E.KEY_LEFTALT, KEY_UP)]  # fmt: skip

    events = [*alt("65"), *alt("0228"), *alt("132"), *tap(E.KEY_ENTER)]
    assert decode(events) == ["Aää"]  # 0228 is cp1252 ä, 132 is cp437 ä


def test_aim_identifier_is_kept() -> None:
    assert decode(text_to_events("]E04006381333931")) == ["]E04006381333931"]


def test_repeat_syn_and_msc_are_ignored() -> None:
    events = [
        InputEvent(0, 0, E.EV_MSC, E.MSC_SCAN, 0x70004),
        key(E.KEY_A),
        key(E.KEY_A, KEY_HOLD),
        key(E.KEY_A, KEY_HOLD),
        InputEvent(0, 0, E.EV_SYN, E.SYN_REPORT, 0),
        key(E.KEY_A, KEY_UP),
        InputEvent(0, 0, E.EV_LED, E.LED_NUML, 1),
        *tap(E.KEY_ENTER),
    ]
    assert decode(events) == ["a"]


def test_inter_key_timeout_ends_a_scan_without_enter() -> None:
    first = [e for i, c in enumerate("123") for e in tap(getattr(E, f"KEY_{c}"), t=i * 0.01)]
    second = [e for i, c in enumerate("45") for e in tap(getattr(E, f"KEY_{c}"), t=5 + i * 0.01)]
    decoder = ScanDecoder(timeout=0.1)
    out = [s for e in first + second for s in decoder.feed(e)]
    assert out == ["123"]
    assert decoder.pending
    assert decoder.flush() == ["45"]
    assert not decoder.pending


def test_a_clock_going_backwards_does_not_split() -> None:
    events = [*tap(E.KEY_1, t=100.0), *tap(E.KEY_2, t=3.0), *tap(E.KEY_ENTER, t=3.0)]
    assert decode(events) == ["12"]


def test_overlong_input_is_dropped_not_truncated() -> None:
    decoder = ScanDecoder(max_length=16)
    out = [s for e in text_to_events("9" * 40 + "\n1") for s in decoder.feed(e)]
    assert out == ["1"]
    assert decoder.dropped == 1


def test_reset_forgets_a_half_scan_and_held_modifiers() -> None:
    decoder = ScanDecoder()
    for event in [key(E.KEY_LEFTSHIFT), *tap(E.KEY_A)]:
        decoder.feed(event)
    decoder.reset()
    out = [s for e in [*tap(E.KEY_B), *tap(E.KEY_ENTER)] for s in decoder.feed(e)]
    assert out == ["b"]


def test_gs1_datamatrix_scan_gives_lot_with_best_before() -> None:
    # What a scanner with AIM identifiers on types for a GS1 DataMatrix on a cheese.
    raw = "]d2" + "0104006381333931" + "17270315" + "10LOT42" + GS + "3103000500"
    events = text_to_events(raw)
    # Key-repeat and scan-code noise a real device interleaves.
    noisy = []
    for event in events:
        noisy.append(event)
        if event.type == E.EV_KEY and event.value == KEY_DOWN:
            noisy.append(InputEvent(event.sec, event.usec, E.EV_KEY, event.code, KEY_HOLD))
    [scan] = decode(noisy)
    assert scan == raw
    result = biip.parse(scan)
    assert result.gs1_message is not None
    elements = result.gs1_message.element_strings
    best_before = elements.get(ai="17")
    assert best_before is not None and str(best_before.date) == "2027-03-15"
    batch = elements.get(ai="10")
    assert batch is not None and batch.value == "LOT42"
