"""Configuration of the scan box hardware (scanner, display, buttons, feedback)."""

from __future__ import annotations

from typing import Literal

from appliance.settings_base import Section


class ScannerConfig(Section):
    """Where scans come from: a USB scanner (evdev), the terminal (stdin) or nowhere."""

    type: Literal["evdev", "stdin", "none"] = "none"
    station_id: str = "kitchen"


class DisplayConfig(Section):
    """The OLED; ``dummy`` renders into memory (tests, the web page's live picture)."""

    type: Literal["ssd1306", "sh1106", "dummy", "none"] = "none"


class ButtonsConfig(Section):
    """GPIO mode buttons; ``mock`` uses gpiozero's MockFactory (laptops, tests)."""

    type: Literal["gpio", "mock", "none"] = "none"


class FeedbackConfig(Section):
    """Optional beeper and LED."""

    type: Literal["gpio", "mock", "none"] = "none"
