"""What the runner sees: analysis updates → LED light and the live-state verdict, with latency.

Two modes:
  continuous — every judged stride (or start) shows at once and stays until the next one;
               after ``hold_s`` without a new verdict the lights go back to READY.
  drill      — a button press arms a start-stop drill: READY while waiting for a still runner,
               then the first step's verdict stays on until the next press.
Blinking amber (FAULT) means nobody in view for ``no_runner_s`` or a camera fault; it overrides
everything else. Each verdict records capture → decision → LED times for the latency bench.

Every change of the lights goes through this controller's lock — the button, the camera, the
pipeline and the settings page's LED test (``self_test``) — so no caller can overwrite what another
one decided (a verdict shown during the LED test stays on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from appliance.analysis.analyzer import StartResult, StrideResult, Update
from appliance.config import VERDICT_HOLD_S
from appliance.feedback.leds import FeedbackLights, Light
from appliance.live.state import LightName, Verdict
from appliance.pose.types import PoseFrame
from appliance.sources.base import Frame

log = logging.getLogger(__name__)

LIGHT_FOR_VERDICT = {"go": Light.GO, "no_go": Light.NO_GO, "unsure": Light.UNSURE}


@dataclass(frozen=True)
class LatencySample:
    """One verdict's timing on the host monotonic clock (seconds)."""

    kind: str  # "stride" | "initiation"
    event_frame_index: int
    decided_frame_index: int
    event_captured_mono_s: float | None  # capture of the frame the event happened on
    decided_captured_mono_s: float | None  # capture of the frame on which it was decided
    decided_mono_s: float  # analysis returned the verdict
    led_mono_s: float  # pins set

    @property
    def capture_to_decision_s(self) -> float | None:
        if self.decided_captured_mono_s is None:
            return None
        return self.decided_mono_s - self.decided_captured_mono_s

    @property
    def event_to_decision_s(self) -> float | None:
        if self.event_captured_mono_s is None:
            return None
        return self.decided_mono_s - self.event_captured_mono_s

    @property
    def decision_to_led_s(self) -> float:
        return self.led_mono_s - self.decided_mono_s


class FeedbackController:
    def __init__(self, lights: FeedbackLights, no_runner_s: float = 2.0, hold_s: float = VERDICT_HOLD_S,
                 history_frames: int = 600) -> None:
        self.lights = lights
        self.no_runner_s = no_runner_s
        self.hold_s = hold_s
        self.mode = "continuous"
        self._lock = threading.Lock()
        self._drill_armed = False
        self._drill_verdict: Verdict | None = None
        self._camera_fault: str | None = None
        self._last_person_mono_s: float | None = None
        self._shown_mono_s = 0.0
        self.verdict: Verdict | None = None
        # Set by the long press (gpiozero's thread), taken by the pipeline thread, which owns the
        # session's store rows, runs and analyzer state (see take_session_end).
        self._session_end_requested = False
        # The LED test in progress: its number, or None. A newer test, a verdict or a button/camera
        # event cancels it by changing or clearing this, so the test never restores over them.
        self._self_test: int | None = None
        self._self_tests = 0
        self._self_test_restore = Light.OFF  # what was shown before the first of overlapping tests
        # Capture times of recent frames, to time events decided a few frames after they happened.
        self._captured: deque[tuple[int, float | None]] = deque(maxlen=history_frames)
        self.latency: deque[LatencySample] = deque(maxlen=10_000)
        self.lights.show(Light.READY)

    # --- button and camera callbacks (any thread) ------------------------------------------------
    def press(self) -> None:
        """Arm a start-stop drill (or re-arm it): wait for a still runner, judge the first step."""
        with self._lock:
            self._self_test = None
            self.mode = "drill"
            self._drill_armed = True
            self._drill_verdict = None
            self.verdict = Verdict("ready", "status", ("drill_armed",), 0.0, time.monotonic())
            log.info("drill armed: waiting for a still runner")
            self._show_locked(Light.READY)

    def hold(self) -> None:
        """End the session: back to continuous feedback; the pipeline thread closes the session's
        run and record when it next calls ``take_session_end`` (this runs on gpiozero's thread,
        which must not touch the store or the analyzer while a frame is being processed)."""
        with self._lock:
            self._self_test = None
            self.mode = "continuous"
            self._drill_armed = False
            self._drill_verdict = None
            self._session_end_requested = True
            log.info("session ended by long press")
            self._show_locked(Light.READY)

    def take_session_end(self) -> bool:
        """True once after each long press: the caller ends the session (``LiveAppliance``)."""
        with self._lock:
            requested, self._session_end_requested = self._session_end_requested, False
            return requested

    def self_test(self, step_s: float = 0.6) -> None:
        """The settings page's LED test: green, amber, red for ``step_s`` each, then back to what
        was shown. Blocks for about ``3 * step_s``; call it from a thread of its own.

        Each step holds the controller's lock, so it cannot interleave with a verdict; a verdict (or
        a button press, a camera fault) during the test ends the test on the spot and stays on —
        the runner's feedback always wins over the test.
        """
        with self._lock:
            if self._self_test is None:
                self._self_test_restore = self.lights.current
            self._self_tests += 1
            test = self._self_tests
            self._self_test = test
        try:
            for light in (Light.GO, Light.READY, Light.NO_GO):
                with self._lock:
                    if self._self_test != test:
                        return
                    self.lights.show(light)  # not _show_locked: the test starts no hold time
                time.sleep(step_s)
        finally:
            with self._lock:
                if self._self_test == test:
                    self._self_test = None
                    self.lights.show(self._self_test_restore)

    def shown_light(self) -> LightName:
        """The light the LEDs show now, by name (the web board follows it)."""
        return self.lights.current.value

    def camera_fault(self, message: str) -> None:
        with self._lock:
            self._self_test = None
            self._camera_fault = message
            self.verdict = Verdict("fault", "status", ("camera_fault",), 0.0, time.monotonic())
            self._show_locked(Light.FAULT)

    def camera_ok(self) -> None:
        with self._lock:
            self._self_test = None
            self._camera_fault = None
            self._show_locked(Light.READY)

    # --- per frame (pipeline thread) -------------------------------------------------------------
    def on_frame(self, frame: Frame, pose: PoseFrame, update: Update) -> Verdict | None:
        """Update the lights for this frame; returns the new verdict when one was decided."""
        now = time.monotonic()
        self._captured.append((frame.index, frame.captured_mono_s))
        with self._lock:
            if pose.has_pose:
                self._last_person_mono_s = now
            new: Verdict | None = None
            if update.start is not None and (self.mode == "continuous" or self._drill_armed):
                new = self._verdict_for_start(update.start, now)
                if self.mode == "drill":
                    self._drill_armed = False
                    self._drill_verdict = new
            if update.strides and self.mode == "continuous" and new is None:
                # A start decided together with its first stride (a start is confirmed by the body
                # going on moving, sometimes by that stride) is shown first: the runner asked for
                # it; the stride's own verdict is in the stride list, and the next one follows.
                new = self._verdict_for_stride(update.strides[-1], now)
            if new is not None:
                self._self_test = None
                self.verdict = new
                led_t = self._show_locked(LIGHT_FOR_VERDICT.get(new.light, Light.UNSURE))
                self._record_latency(new, update, frame, now, led_t)
                return new
            self._idle_locked(now)
            return None

    def _verdict_for_start(self, start: StartResult, now: float) -> Verdict:
        m = start.metrics
        metrics = {} if m is None else {"lean_deg": round(m.lean_deg, 1), "pelvis_offset": round(m.pelvis_offset, 3)}
        return Verdict(start.verdict, "initiation", start.reasons, start.initiation.event.t_s, now, metrics)

    def _verdict_for_stride(self, stride: StrideResult, now: float) -> Verdict:
        return Verdict(stride.verdict, "stride", stride.reasons, stride.step.toe_off.t_s, now,
                       stride.to_json())

    def _idle_locked(self, now: float) -> None:
        """No new verdict this frame: decide whether to fall back to READY or FAULT."""
        if self._camera_fault is not None or self._self_test is not None:
            return
        nobody = self._last_person_mono_s is None or now - self._last_person_mono_s > self.no_runner_s
        if nobody and not (self.mode == "drill" and self._drill_verdict is not None):
            self._show_locked(Light.FAULT)
            return
        if self.mode == "drill":
            if self._drill_verdict is None:
                self._show_locked(Light.READY)
            return
        if self.lights.current == Light.FAULT or now - self._shown_mono_s > self.hold_s:
            self._show_locked(Light.READY)

    def _show_locked(self, light: Light) -> float:
        before = self.lights.current
        t = self.lights.show(light)
        if light != before or light in LIGHT_FOR_VERDICT.values():
            self._shown_mono_s = t
        return t

    def _record_latency(self, v: Verdict, update: Update, frame: Frame, decided: float, led: float) -> None:
        if v.kind == "initiation" and update.start is not None:
            ev = update.start.initiation.event
        else:
            ev = update.strides[-1].step.toe_off
        captured = dict(self._captured)
        self.latency.append(LatencySample(v.kind, ev.frame_index, frame.index, captured.get(ev.frame_index),
                                          frame.captured_mono_s, decided, led))
