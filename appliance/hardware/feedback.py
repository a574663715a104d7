"""Beeper and LED: a short beep when a scan worked, a long one when it did not."""

from __future__ import annotations

import logging
from typing import Any

from appliance.core.messages import Message
from appliance.hardware.config import FeedbackConfig

log = logging.getLogger(__name__)

_SUCCESS = {"added", "consumed", "opened", "spoiled", "listed", "looked_up", "mode_changed"}


class Feedback:
    """Optional gpiozero Buzzer and LED on configurable pins; an ``Outlet``."""

    def __init__(self, config: FeedbackConfig, station_id: str, pin_factory: Any) -> None:
        from gpiozero import LED, Buzzer

        self._config = config
        self._station_id = station_id
        self.buzzer: Any = None
        self.led: Any = None
        try:
            if config.buzzer_pin is not None:
                self.buzzer = Buzzer(
                    config.buzzer_pin,
                    active_high=config.buzzer_active_high,
                    pin_factory=pin_factory,
                )
            if config.led_pin is not None:
                self.led = LED(config.led_pin, pin_factory=pin_factory)
        except Exception:
            self.close()
            raise

    def deliver(self, message: Message) -> None:
        """Beep for this station's scan outcomes (Outlet); never raises."""
        if message.type != "scanner.scan":
            return
        if message.data.get("station_id", self._station_id) != self._station_id:
            return
        outcome = message.data.get("outcome")
        try:
            if outcome in _SUCCESS:
                self.success()
            elif outcome == "unknown":
                self.signal(self._config.success_seconds, times=2)
            else:
                self.error()
        except Exception:
            log.exception("feedback: cannot signal %s", outcome)

    def success(self) -> None:
        """One short beep and blink."""
        self.signal(self._config.success_seconds)

    def error(self) -> None:
        """One long beep and blink."""
        self.signal(self._config.error_seconds)

    def signal(self, seconds: float, times: int = 1) -> None:
        """Beep and blink ``times`` times; gpiozero runs the pattern on its own thread."""
        for device in (self.buzzer, self.led):
            if device is not None:
                device.blink(on_time=seconds, off_time=seconds, n=times, background=True)

    def close(self) -> None:
        """Stop any pattern and release the pins."""
        for device in (self.buzzer, self.led):
            if device is not None:
                device.close()
        self.buzzer = self.led = None
