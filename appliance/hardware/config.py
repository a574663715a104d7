"""Configuration of the scan box hardware (scanner, display, buttons, feedback).

Pins are gpiozero pin names: a BCM number (``17``) or a string such as ``"GPIO17"`` or
``"BOARD11"``. Each section's ``type`` picks the real backend or its fake.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from appliance.core.modes import ScanMode
from appliance.settings_base import Section

_USB_ID_RE = re.compile(r"^[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$")
_BUTTON_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SIMPLE_ACTIONS = ("none", "cycle", "undo", "pairing", "print")

Pin = int | str


def _check_action(value: str) -> str:
    if value in _SIMPLE_ACTIONS:
        return value
    if value.startswith("mode:") and value[5:] in {m.value for m in ScanMode}:
        return value
    modes = ", ".join(f"mode:{m.value}" for m in ScanMode)
    raise ValueError(f"unknown action {value!r}; use one of {', '.join(_SIMPLE_ACTIONS)}, {modes}")


class ScannerConfig(Section):
    """Where scans come from: a USB scanner (evdev), the terminal (stdin) or nowhere.

    The evdev device is taken from ``device`` (``/dev/input/event3``,
    ``/dev/input/by-id/...`` or the udev symlink ``/dev/input/kitchen-scanner``), else from
    ``usb_id`` (``"vendor:product"`` in hex), else the first device whose name contains one of
    ``name_contains`` (case-insensitive). The group-separator substitute character is
    ``modes.group_separator_substitute``.
    """

    type: Literal["evdev", "stdin", "none"] = "none"
    station_id: str = "kitchen"
    device: str | None = None
    usb_id: str | None = None
    name_contains: list[str] = Field(default_factory=lambda: ["barcode", "scanner"])
    # Take the device exclusively so scans never reach the console or a desktop session.
    grab: bool = True
    # A scanner that sends no Enter suffix ends a scan by going quiet for this long.
    inter_key_timeout_ms: int = Field(default=100, ge=10, le=5000)
    # How often to look for the scanner again after it was unplugged (or never found).
    reconnect_seconds: float = Field(default=2.0, gt=0, le=300)
    # Longer input is dropped: nothing printed on a grocery item comes near this.
    max_length: int = Field(default=512, ge=16, le=8192)

    @field_validator("usb_id")
    @classmethod
    def _usb_id(cls, value: str | None) -> str | None:
        if value is not None and not _USB_ID_RE.match(value):
            raise ValueError("use vendor:product in hex, e.g. '05e0:1200'")
        return value.lower() if value else value


class DisplayConfig(Section):
    """The OLED; ``dummy`` renders into memory (tests, the web page's live picture)."""

    type: Literal["ssd1306", "sh1106", "dummy", "none"] = "none"
    i2c_port: int = Field(default=1, ge=0, le=255)
    i2c_address: int = Field(default=0x3C, ge=0x03, le=0x77)
    # 0 or 2 (180 degrees) for a box that has the display mounted upside down.
    rotate: Literal[0, 2] = 0
    contrast: int = Field(default=255, ge=0, le=255)
    # How long a scan result stays before the idle screen comes back.
    result_seconds: float = Field(default=8.0, gt=0, le=3600)
    # How long the large mode screen stays after a mode change.
    mode_seconds: float = Field(default=3.0, gt=0, le=3600)


class ButtonConfig(Section):
    """One push button between a GPIO pin and ground (internal pull-up)."""

    name: str
    pin: Pin
    # What a short press does: "mode:<mode>", "cycle", "undo", "pairing", "print" (the label
    # of the lot the last scan added or opened, when [labels] webhook is set) or "none".
    press: str = "none"
    # What holding it for ``buttons.hold_seconds`` does (same choices).
    hold: str = "none"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _BUTTON_NAME_RE.match(value):
            raise ValueError("use 1-32 lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("press", "hold")
    @classmethod
    def _action(cls, value: str) -> str:
        return _check_action(value)


def _default_buttons() -> list[ButtonConfig]:
    return [
        ButtonConfig(name="add", pin=17, press="mode:add", hold="undo"),
        ButtonConfig(name="consume", pin=27, press="mode:consume", hold="pairing"),
        ButtonConfig(name="cycle", pin=22, press="cycle"),
    ]


class ButtonsConfig(Section):
    """GPIO mode buttons; ``mock`` uses gpiozero's MockFactory (laptops, tests)."""

    type: Literal["gpio", "mock", "none"] = "none"
    hold_seconds: float = Field(default=2.0, gt=0, le=30)
    # Debounce for real switches; mock pins do not bounce, so it is not applied to them.
    bounce_seconds: float | None = Field(default=0.05, ge=0, le=1)
    buttons: list[ButtonConfig] = Field(default_factory=_default_buttons)

    @model_validator(mode="after")
    def _unique(self) -> ButtonsConfig:
        names = [b.name for b in self.buttons]
        pins = [str(b.pin) for b in self.buttons]
        if len(set(names)) != len(names):
            raise ValueError("button names must be unique")
        if len(set(pins)) != len(pins):
            raise ValueError("each button needs its own pin")
        return self


class FeedbackConfig(Section):
    """Optional beeper and LED."""

    type: Literal["gpio", "mock", "none"] = "none"
    buzzer_pin: Pin | None = None
    led_pin: Pin | None = None
    # Active buzzers driven by a transistor are usually active-high.
    buzzer_active_high: bool = True
    success_seconds: float = Field(default=0.08, gt=0, le=5)
    error_seconds: float = Field(default=0.6, gt=0, le=5)
