"""LED feedback on gpiozero's MockFactory: which pins a runner would see lit, and the button."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.feedback.controller import FeedbackController
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


# --- the feedback controller owns the lights: LED self-test and long press -------------------------

def _frame(index: int) -> SimpleNamespace:
    return SimpleNamespace(index=index, captured_mono_s=time.monotonic())


def _start_update(verdict: str, frame_index: int) -> SimpleNamespace:
    """What StreamingAnalyzer.push returns when a start was judged (the fields the controller reads)."""
    event = SimpleNamespace(t_s=1.0, frame_index=frame_index)
    start = SimpleNamespace(verdict=verdict, reasons=(), metrics=None, initiation=SimpleNamespace(event=event))
    return SimpleNamespace(start=start, strides=(), events=())


IDLE = SimpleNamespace(start=None, strides=(), events=())


def test_self_test_cycles_and_restores_even_while_frames_arrive(factory: MockFactory) -> None:
    leds = FeedbackLights(pin_factory=factory)
    feedback = FeedbackController(leds)
    test = threading.Thread(target=feedback.self_test, args=(0.15,))
    test.start()
    # Frames with nobody in view would show FAULT; during the test they must not cut it short.
    for i in range(5):
        feedback.on_frame(_frame(i), SimpleNamespace(has_pose=False), IDLE)  # type: ignore[arg-type]
        time.sleep(0.05)
    test.join(5)
    assert [c.light for c in leds.changes][:5] == [Light.READY, Light.GO, Light.READY, Light.NO_GO, Light.READY]
    leds.close()


def test_verdict_during_self_test_stays_on(factory: MockFactory) -> None:
    """The bug of issue 18: the test's restore overwrote a verdict shown during the test."""
    leds = FeedbackLights(pin_factory=factory)
    feedback = FeedbackController(leds)
    test = threading.Thread(target=feedback.self_test, args=(0.3,))
    test.start()
    deadline = time.monotonic() + 5
    while leds.current != Light.GO and time.monotonic() < deadline:
        time.sleep(0.01)
    assert leds.current == Light.GO  # the test is running
    verdict = feedback.on_frame(_frame(7), SimpleNamespace(has_pose=True),  # type: ignore[arg-type]
                                _start_update("no_go", 7))
    test.join(5)
    assert verdict is not None and verdict.light == "no_go"
    assert leds.current == Light.NO_GO
    assert [c.light for c in leds.changes] == [Light.READY, Light.GO, Light.NO_GO]
    leds.close()


def test_long_press_requests_the_session_end_once(factory: MockFactory) -> None:
    pins = PinMap(button_hold_s=0.1)
    leds = FeedbackLights(pins, pin_factory=factory)
    feedback = FeedbackController(leds)
    button = DrillButton(pins, factory, feedback.press, feedback.hold)
    pin = factory.pin(pins.button)
    pin.drive_low()
    time.sleep(0.02)
    pin.drive_high()  # a short press arms a drill, ends nothing
    deadline = time.monotonic() + 5
    while feedback.mode != "drill" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert feedback.mode == "drill" and not feedback.take_session_end()
    pin.drive_low()
    while feedback.mode != "continuous" and time.monotonic() < deadline:
        time.sleep(0.01)
    pin.drive_high()
    assert feedback.mode == "continuous"
    assert feedback.take_session_end()
    assert not feedback.take_session_end()  # taken once: one long press, one session end
    button.close()
    leds.close()
