"""LED feedback on gpiozero's MockFactory: which pins a runner would see lit, and the button."""

from __future__ import annotations

import time

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.feedback.leds import DrillButton, FeedbackLights, Light, PinMap, make_pin_factory


@pytest.fixture
def factory() -> MockFactory:
    f = MockFactory()
    yield f
    f.reset()


def lit(factory: MockFactory, pins: PinMap) -> dict[str, bool]:
    return {name: bool(factory.pin(getattr(pins, name)).state) for name in ("red", "amber", "green")}


@pytest.mark.parametrize(("light", "expected"), [
    (Light.GO, {"red": False, "amber": False, "green": True}),
    (Light.NO_GO, {"red": True, "amber": False, "green": False}),
    (Light.READY, {"red": False, "amber": True, "green": False}),
    (Light.UNSURE, {"red": False, "amber": True, "green": False}),
    (Light.OFF, {"red": False, "amber": False, "green": False}),
])
def test_each_light_drives_the_right_pin(factory: MockFactory, light: Light, expected: dict[str, bool]) -> None:
    leds = FeedbackLights(pin_factory=factory)
    leds.show(Light.FAULT)  # start from something else so every case is a real change
    leds.show(light)
    assert lit(factory, leds.pins) == expected
    leds.close()


def test_fault_blinks_amber(factory: MockFactory) -> None:
    leds = FeedbackLights(pin_factory=factory)
    leds.show(Light.FAULT)
    seen = set()
    deadline = time.monotonic() + 1.6
    while time.monotonic() < deadline:
        seen.add(lit(factory, leds.pins)["amber"])
        time.sleep(0.05)
    assert seen == {True, False}
    leds.show(Light.GO)  # stops the blink
    time.sleep(0.6)
    assert lit(factory, leds.pins) == {"red": False, "amber": False, "green": True}
    leds.close()


def test_changes_are_recorded_once(factory: MockFactory) -> None:
    leds = FeedbackLights(pin_factory=factory)
    for light in (Light.READY, Light.READY, Light.GO, Light.GO, Light.NO_GO):
        leds.show(light)
    assert [c.light for c in leds.changes] == [Light.READY, Light.GO, Light.NO_GO]
    leds.close()


def test_custom_pins(factory: MockFactory) -> None:
    pins = PinMap(red=5, amber=6, green=13)
    leds = FeedbackLights(pins, pin_factory=factory)
    leds.show(Light.NO_GO)
    assert factory.pin(5).state and not factory.pin(9).state
    leds.close()


def test_button_press_and_hold(factory: MockFactory) -> None:
    pins = PinMap(button_hold_s=0.2)
    events: list[str] = []
    button = DrillButton(pins, factory, on_press=lambda: events.append("press"),
                         on_hold=lambda: events.append("hold"))
    pin = factory.pin(pins.button)
    pin.drive_low()
    time.sleep(0.05)
    pin.drive_high()
    time.sleep(0.05)
    pin.drive_low()
    time.sleep(0.4)
    pin.drive_high()
    time.sleep(0.05)
    assert events == ["press", "hold"]
    button.close()


def test_no_gpio_falls_back_to_mock_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    factory, real = make_pin_factory("auto")
    if real:
        pytest.skip("this machine has real GPIO")
    assert isinstance(factory, MockFactory)
    assert "running without LEDs" in caplog.text
