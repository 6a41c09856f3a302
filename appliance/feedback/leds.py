"""Go / no-go feedback on a traffic-light LED module, a button and an optional buzzer (gpiozero).

Meaning of the lights (see hardware/README.md for the wiring):
  green = good lean, red = no-go, amber = ready / unsure, blinking amber = no runner or camera fault.

The pin factory is gpiozero's seam: on the Pi it is lgpio (Pi 5) or whatever gpiozero picks; off
the Pi, or when GPIO cannot be opened, it is ``MockFactory`` and the appliance says it runs without
LEDs. Tests read the mock pins to check what a runner would have seen.
"""

from __future__ import annotations

import enum
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from gpiozero import LED, Button, Buzzer, Device, TrafficLights
from gpiozero.exc import BadPinFactory, GPIOZeroError, PinFactoryFallback
from gpiozero.pins.mock import MockFactory

log = logging.getLogger(__name__)


class Light(enum.Enum):
    OFF = "off"
    GO = "go"          # green
    NO_GO = "no_go"    # red
    READY = "ready"    # amber, steady: waiting for a runner / judging not possible yet
    UNSURE = "unsure"  # amber, steady: seen, but the pose was too uncertain to judge
    FAULT = "fault"    # amber, blinking: nobody in view, or the camera is gone


@dataclass(frozen=True)
class PinMap:
    """BCM pin numbers; the default matches hardware/README.md (Low Voltage Labs Pi-Traffic pins)."""

    red: int = 9
    amber: int = 10
    green: int = 11
    button: int | None = 17
    buzzer: int | None = 22
    button_hold_s: float = 2.0


@dataclass(frozen=True)
class LightChange:
    light: Light
    t_monotonic_s: float


def make_pin_factory(kind: str = "auto") -> tuple[object, bool]:
    """Return ``(factory, is_real)``. ``kind``: ``auto`` (gpiozero's own choice, GPIOZERO_PIN_FACTORY
    respected), ``mock``, or a gpiozero factory name such as ``lgpio``."""
    if kind == "mock":
        return MockFactory(), False
    if kind != "auto":
        os.environ["GPIOZERO_PIN_FACTORY"] = kind  # gpiozero's documented way to choose a factory
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)  # we report the outcome ourselves
            factory = Device.pin_factory
            if factory is None:
                probe = LED(PinMap().green)  # makes gpiozero load its default factory
                factory = probe.pin_factory
                probe.close()
        return factory, not isinstance(factory, MockFactory)
    except (BadPinFactory, GPIOZeroError, ImportError, OSError) as err:
        log.warning("GPIO unavailable (%s): running without LEDs (mock pins)", err)
        return MockFactory(), False


class FeedbackLights:
    """Shows a ``Light`` on the traffic lights; remembers each change with its time."""

    def __init__(self, pins: PinMap | None = None, pin_factory: object | None = None,
                 buzzer_on_no_go: bool = False) -> None:
        self.pins = pins or PinMap()
        if pin_factory is None:
            pin_factory, self.is_real = make_pin_factory()
        else:
            self.is_real = not isinstance(pin_factory, MockFactory)
        self.factory = pin_factory
        self._lights = TrafficLights(self.pins.red, self.pins.amber, self.pins.green, pin_factory=pin_factory)
        self._buzzer = (Buzzer(self.pins.buzzer, pin_factory=pin_factory)
                        if self.pins.buzzer is not None and buzzer_on_no_go else None)
        self._lock = threading.Lock()
        self.current = Light.OFF
        self.changes: list[LightChange] = []

    def show(self, light: Light) -> float:
        """Switch to ``light`` (no-op if already shown); returns the monotonic time from which the pins
        show it."""
        with self._lock:
            if light == self.current:
                return time.monotonic()  # already showing: the runner sees it now
            lights = self._lights
            lights.off()  # also stops a blink thread
            if light == Light.GO:
                lights.green.on()
            elif light == Light.NO_GO:
                lights.red.on()
                if self._buzzer is not None:
                    self._buzzer.beep(on_time=0.15, off_time=0.1, n=2)
            elif light in (Light.READY, Light.UNSURE):
                lights.amber.on()
            elif light == Light.FAULT:
                lights.amber.blink(on_time=0.5, off_time=0.5)
            t = time.monotonic()
            self.current = light
            self.changes.append(LightChange(light, t))
            log.debug("lights: %s", light.value)
            return t

    def close(self) -> None:
        with self._lock:
            self._lights.close()
            if self._buzzer is not None:
                self._buzzer.close()


class DrillButton:
    """The momentary button: a press starts a start-stop drill, a long press ends the session."""

    def __init__(self, pins: PinMap, pin_factory: object, on_press: Callable[[], None],
                 on_hold: Callable[[], None]) -> None:
        if pins.button is None:
            raise ValueError("no button pin configured")
        self._button = Button(pins.button, hold_time=pins.button_hold_s, pin_factory=pin_factory)
        self._held = False
        self._on_press = on_press
        self._on_hold = on_hold
        self._button.when_held = self._held_cb
        self._button.when_released = self._released_cb

    def _held_cb(self) -> None:
        self._held = True
        self._on_hold()

    def _released_cb(self) -> None:
        # A press counts on release, so a long press is not also taken as a short one.
        if not self._held:
            self._on_press()
        self._held = False

    def close(self) -> None:
        self._button.close()
