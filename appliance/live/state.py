"""The latest-state slot shared by the pipeline (writer) and the web / MQTT sinks (readers).

The pipeline only ever replaces the slot's content; readers take the newest version or wait for a
newer one. Nobody reading can slow the pipeline down, and nobody sees a half-written state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

# What the LEDs can show, by name (the values of feedback.leds.Light). Readers (web, MQTT) use the
# names, so they need neither gpiozero nor the LED layer.
LightName = Literal["off", "go", "no_go", "ready", "unsure", "fault"]


@dataclass(frozen=True, eq=False)
class Verdict:
    """The most recent judgement shown to the runner (LEDs, big word on the web page)."""

    light: LightName
    kind: str  # "initiation" | "stride" | "status"
    reasons: tuple[str, ...] = ()  # reason codes, e.g. ("sitting_back",)
    t_s: float = 0.0  # capture time of the frame the decision was made on
    decided_monotonic_s: float = 0.0
    metrics: dict[str, Any] = field(default_factory=dict)  # lean_deg, cadence_spm, hip_over_foot, …


@dataclass(frozen=True, eq=False)
class LiveState:
    version: int
    source: str
    t_s: float
    frame_rgb: np.ndarray | None  # the newest frame (not copied: frames are never mutated after capture)
    landmarks: np.ndarray | None
    verdict: Verdict | None
    fps: float
    dropped_frames: int
    person_in_view: bool


class LatestSlot:
    """Holds one LiveState; ``publish`` replaces it, ``wait_newer`` blocks until a newer one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._state: LiveState | None = None
        self._version = 0

    def publish(self, **fields: Any) -> LiveState:
        with self._cond:
            self._version += 1
            self._state = LiveState(version=self._version, **fields)
            self._cond.notify_all()
            return self._state

    def latest(self) -> LiveState | None:
        with self._cond:
            return self._state

    def wait_newer(self, version: int, timeout_s: float) -> LiveState | None:
        """The newest state if its version is above ``version``, waiting up to ``timeout_s``."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > version, timeout=timeout_s)
            return self._state if self._version > version else None
