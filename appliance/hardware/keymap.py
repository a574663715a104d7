"""Turn a keyboard-wedge scanner's key events into scanned text (US layout).

The kernel hands us key codes, not characters, and we grab the device, so nobody else
translates them: this module does, without any I/O, so it can be fed synthetic events.

A scan ends with Enter, keypad Enter, or a pause longer than the inter-key timeout. The
GS1 group separator (ASCII 29) arrives in one of four ways, depending on how the scanner is
set up: Ctrl+], Alt + keypad 0 2 9 (or 0 0 2 9), F12, or a configured substitute character.
"""

from __future__ import annotations

from evdev import InputEvent, ecodes

GS = "\x1d"

_LETTERS = {getattr(ecodes, f"KEY_{c}"): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}

# key code -> (unshifted, shifted) on a US keyboard
_SYMBOLS: dict[int, tuple[str, str]] = {
    ecodes.KEY_1: ("1", "!"),
    ecodes.KEY_2: ("2", "@"),
    ecodes.KEY_3: ("3", "#"),
    ecodes.KEY_4: ("4", "$"),
    ecodes.KEY_5: ("5", "%"),
    ecodes.KEY_6: ("6", "^"),
    ecodes.KEY_7: ("7", "&"),
    ecodes.KEY_8: ("8", "*"),
    ecodes.KEY_9: ("9", "("),
    ecodes.KEY_0: ("0", ")"),
    ecodes.KEY_MINUS: ("-", "_"),
    ecodes.KEY_EQUAL: ("=", "+"),
    ecodes.KEY_LEFTBRACE: ("[", "{"),
    ecodes.KEY_RIGHTBRACE: ("]", "}"),
    ecodes.KEY_SEMICOLON: (";", ":"),
    ecodes.KEY_APOSTROPHE: ("'", '"'),
    ecodes.KEY_GRAVE: ("`", "~"),
    ecodes.KEY_BACKSLASH: ("\\", "|"),
    ecodes.KEY_COMMA: (",", "<"),
    ecodes.KEY_DOT: (".", ">"),
    ecodes.KEY_SLASH: ("/", "?"),
    ecodes.KEY_SPACE: (" ", " "),
    ecodes.KEY_TAB: ("\t", "\t"),
}

# Scanners assume Num Lock is on when they type on the keypad.
_KEYPAD: dict[int, str] = {
    ecodes.KEY_KP0: "0",
    ecodes.KEY_KP1: "1",
    ecodes.KEY_KP2: "2",
    ecodes.KEY_KP3: "3",
    ecodes.KEY_KP4: "4",
    ecodes.KEY_KP5: "5",
    ecodes.KEY_KP6: "6",
    ecodes.KEY_KP7: "7",
    ecodes.KEY_KP8: "8",
    ecodes.KEY_KP9: "9",
    ecodes.KEY_KPMINUS: "-",
    ecodes.KEY_KPPLUS: "+",
    ecodes.KEY_KPDOT: ".",
    ecodes.KEY_KPASTERISK: "*",
    ecodes.KEY_KPSLASH: "/",
}

_SHIFT = {ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT}
_CTRL = {ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL}
_ALT = {ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT}
_ENTER = {ecodes.KEY_ENTER, ecodes.KEY_KPENTER}

KEY_UP, KEY_DOWN, KEY_HOLD = 0, 1, 2


def _alt_code_char(digits: str) -> str | None:
    """Alt + keypad number: below 128 it is ASCII; above, 0-prefixed is cp1252, else cp437."""
    try:
        value = int(digits)
    except ValueError:
        return None
    if value < 128:
        return chr(value)
    if value > 255:
        return None
    return bytes([value]).decode("cp1252" if digits.startswith("0") else "cp437", "replace")


class ScanDecoder:
    """Decode key events into complete scans; one instance per device.

    ``feed`` returns the scans completed by an event (usually none, at Enter one). A pause of
    more than ``timeout`` seconds between key presses also ends a scan; the reader calls
    ``flush`` when the device has gone quiet for that long.
    """

    def __init__(
        self,
        *,
        timeout: float = 0.1,
        gs_substitute: str | None = None,
        max_length: int = 512,
        caps_lock: bool = False,
    ) -> None:
        self.timeout = timeout
        self.gs_substitute = gs_substitute
        self.max_length = max_length
        self.caps_lock = caps_lock
        self._buffer: list[str] = []
        self._held: set[int] = set()
        self._alt_digits = ""
        self._last_press: float | None = None
        self._overflow = False
        self.dropped = 0  # scans thrown away for being too long

    @property
    def pending(self) -> bool:
        """True while a scan has started but not ended."""
        return bool(self._buffer) or bool(self._alt_digits)

    def reset(self) -> None:
        """Forget a half-read scan and all held keys (the device went away)."""
        self._buffer.clear()
        self._held.clear()
        self._alt_digits = ""
        self._last_press = None
        self._overflow = False

    def flush(self) -> list[str]:
        """End the current scan (the inter-key timeout passed); return it if there is one."""
        if self._alt_digits:
            self._emit_alt_code()
        text = "".join(self._buffer)
        overflow = self._overflow
        self._buffer.clear()
        self._overflow = False
        if overflow:
            self.dropped += 1
            return []
        return [text] if text else []

    def feed(self, event: InputEvent) -> list[str]:
        """Take one event; return the scans it completed."""
        if event.type != ecodes.EV_KEY or event.value == KEY_HOLD:
            return []  # EV_SYN, EV_MSC (scan codes), LEDs and auto-repeat carry no text
        code, down = event.code, event.value == KEY_DOWN
        if not down:
            self._held.discard(code)
            if code in _ALT and not (self._held & _ALT) and self._alt_digits:
                self._emit_alt_code()
            return []
        done: list[str] = []
        # A clock that jumps backwards gives a negative gap, which never splits a scan.
        if (
            self._last_press is not None
            and self.pending
            and event.timestamp() - self._last_press > self.timeout
        ):
            done.extend(self.flush())
        self._last_press = event.timestamp()
        self._held.add(code)
        if code in _ENTER:
            done.extend(self.flush())
        elif code == ecodes.KEY_CAPSLOCK:
            self.caps_lock = not self.caps_lock
        elif code == ecodes.KEY_F12:
            self._append(GS)
        elif self._held & _ALT and code in _KEYPAD:
            self._alt_digits += _KEYPAD[code]
        else:
            char = self._char(code)
            if char is not None:
                if char in "\r\n":
                    done.extend(self.flush())
                else:
                    self._append(char)
        return done

    def _char(self, code: int) -> str | None:
        shift = bool(self._held & _SHIFT)
        if code in _LETTERS:
            letter = _LETTERS[code]
            char = letter.upper() if shift != self.caps_lock else letter
        elif code in _SYMBOLS:
            char = _SYMBOLS[code][1 if shift else 0]
        elif code in _KEYPAD:
            char = _KEYPAD[code]
        else:
            return None
        if self._held & _CTRL:
            # Ctrl+letter or Ctrl+[\]^_ give the C0 control characters: Ctrl+] is GS.
            upper = char.upper()
            if "@" <= upper <= "_":
                return chr(ord(upper) - 64)
            return None
        return char

    def _emit_alt_code(self) -> None:
        char = _alt_code_char(self._alt_digits)
        self._alt_digits = ""
        if char is not None:
            self._append(char)

    def _append(self, char: str) -> None:
        if self.gs_substitute is not None and char == self.gs_substitute:
            char = GS
        if len(self._buffer) >= self.max_length:
            self._overflow = True
            return
        self._buffer.append(char)


def text_to_events(text: str, *, start: float = 0.0, step: float = 0.002) -> list[InputEvent]:
    """Type ``text`` as a scanner does (GS as Ctrl+]), ending with Enter; for tests and demos."""
    reverse: dict[str, tuple[int, bool]] = {}
    for code, letter in _LETTERS.items():
        reverse[letter] = (code, False)
        reverse[letter.upper()] = (code, True)
    for code, (plain, with_shift) in _SYMBOLS.items():
        reverse.setdefault(with_shift, (code, True))
        reverse[plain] = (code, False)
    events: list[InputEvent] = []
    clock = start

    def key(code: int, value: int) -> None:
        nonlocal clock
        sec, usec = int(clock), round((clock - int(clock)) * 1_000_000)
        events.append(InputEvent(sec, usec, ecodes.EV_MSC, ecodes.MSC_SCAN, 0x70000 + code))
        events.append(InputEvent(sec, usec, ecodes.EV_KEY, code, value))
        events.append(InputEvent(sec, usec, ecodes.EV_SYN, ecodes.SYN_REPORT, 0))
        clock += step

    for char in [*text, "\n"]:
        if char == "\n":
            key(ecodes.KEY_ENTER, KEY_DOWN)
            key(ecodes.KEY_ENTER, KEY_UP)
            continue
        if char == GS:
            code, mods = ecodes.KEY_RIGHTBRACE, [ecodes.KEY_LEFTCTRL]
        else:
            code, shifted = reverse[char]
            mods = [ecodes.KEY_LEFTSHIFT] if shifted else []
        for mod in mods:
            key(mod, KEY_DOWN)
        key(code, KEY_DOWN)
        key(code, KEY_UP)
        for mod in mods:
            key(mod, KEY_UP)
    return events
