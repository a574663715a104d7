"""Mode buttons through gpiozero: a press and a long press, each bound to an action.

gpiozero calls back on its own threads (the pin's edge thread for a press, a hold thread
for a long press), so every action is handed to the event loop with call_soon_threadsafe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from appliance.hardware.config import ButtonConfig, ButtonsConfig

log = logging.getLogger(__name__)

ActionCallback = Callable[[str, str], None]  # (button name, action)


class _Button:
    """One gpiozero Button and the bookkeeping that tells a press from a long press."""

    def __init__(
        self,
        spec: ButtonConfig,
        config: ButtonsConfig,
        pin_factory: Any,
        fire: Callable[[str, str], None],
        debounce: bool,
    ) -> None:
        from gpiozero import Button

        self.spec = spec
        self._fire = fire
        self._held = False
        self._lock = threading.Lock()
        self.device = Button(
            spec.pin,
            pull_up=True,
            bounce_time=config.bounce_seconds if debounce else None,
            hold_time=config.hold_seconds,
            pin_factory=pin_factory,
        )
        if spec.hold == "none":
            # Nothing to tell apart: act on the press, which feels quicker than the release.
            self.device.when_pressed = self._pressed
        else:
            self.device.when_pressed = self._reset
            self.device.when_held = self._on_held
            self.device.when_released = self._released

    def _pressed(self) -> None:
        if self.spec.press != "none":
            self._fire(self.spec.name, self.spec.press)

    def _reset(self) -> None:
        with self._lock:
            self._held = False

    def _on_held(self) -> None:
        with self._lock:
            self._held = True
        self._fire(self.spec.name, self.spec.hold)

    def _released(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if not held:
            self._pressed()

    def close(self) -> None:
        self.device.close()


class Buttons:
    """The configured buttons; ``on_action(name, action)`` runs on the event loop."""

    def __init__(
        self,
        config: ButtonsConfig,
        pin_factory: Any,
        on_action: ActionCallback,
        loop: asyncio.AbstractEventLoop,
        *,
        debounce: bool = True,
    ) -> None:
        self.config = config
        self._loop = loop
        self._on_action = on_action
        self._closed = False
        self.buttons: dict[str, _Button] = {}
        try:
            for spec in config.buttons:
                self.buttons[spec.name] = _Button(spec, config, pin_factory, self._fire, debounce)
        except Exception:
            self.close()
            raise

    def _fire(self, name: str, action: str) -> None:
        # Runs on a gpiozero thread (or on the loop, when the web page drives a mock pin).
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed during shutdown
            self._loop.call_soon_threadsafe(self._dispatch, name, action)

    def _dispatch(self, name: str, action: str) -> None:
        if not self._closed:
            log.info("button %s: %s", name, action)
            self._on_action(name, action)

    def pin(self, name: str) -> Any:
        """The gpiozero pin of button ``name`` (a MockPin on fake hardware)."""
        return self.buttons[name].device.pin

    def describe(self) -> list[dict[str, Any]]:
        """Name, pin and actions of every button, for the web page."""
        return [
            {
                "name": b.spec.name,
                "pin": str(b.spec.pin),
                "press": b.spec.press,
                "hold": b.spec.hold,
            }
            for b in self.buttons.values()
        ]

    def close(self) -> None:
        """Release every pin and stop gpiozero's hold threads."""
        self._closed = True
        for button in self.buttons.values():
            button.close()
        self.buttons.clear()
