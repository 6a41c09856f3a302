"""Keep a live source going through camera faults: report the fault, retry, resume.

A kicked cable makes the camera raise or simply stop. The appliance must not need a service
restart for that: this wrapper closes the broken source, reports the fault (blinking amber),
reopens it every ``retry_s`` until it works, and carries on with indices and timestamps that keep
increasing, so downstream code sees one continuous (if gappy) stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from appliance.errors import LeanCamError
from appliance.sources.base import Frame, FrameSource, SourceInfo

log = logging.getLogger(__name__)

# What a failing camera raises: our own errors on reopen, OS errors from V4L2/libcamera, and the
# RuntimeErrors picamera2 uses for "camera not available".
CAMERA_ERRORS = (LeanCamError, OSError, RuntimeError)


class ReconnectingSource:
    def __init__(self, open_source: Callable[[], FrameSource], stop: threading.Event,
                 on_fault: Callable[[str], None] = lambda _msg: None,
                 on_recovered: Callable[[], None] = lambda: None, retry_s: float = 2.0) -> None:
        self._open = open_source
        self._stop = stop
        self._on_fault = on_fault
        self._on_recovered = on_recovered
        self.retry_s = retry_s
        self._current: FrameSource | None = open_source()  # first open fails loudly, at start-up
        self.info: SourceInfo = self._current.info
        self.reconnects = 0
        # Added to the reopened source's times; public so the camera's encoder (picamera_output)
        # puts its packets on the same continued clock.
        self.offset_s = 0.0

    def frames(self) -> Iterator[Frame]:
        index = 0
        last_t_s = 0.0
        faulted_at: float | None = None
        while not self._stop.is_set():
            src = self._current
            if src is None:
                # Continue the clock across the gap, measured on the host clock; set before the
                # open, which may start the camera's encoder (its packets use the same offset).
                self.offset_s = last_t_s + (time.monotonic() - (faulted_at or time.monotonic()))
                try:
                    src = self._current = self._open()
                except CAMERA_ERRORS as err:
                    log.info("camera still unavailable (%s); retrying in %.0f s", err, self.retry_s)
                    self._stop.wait(self.retry_s)
                    continue
                self.reconnects += 1
                log.info("camera back after %d reconnect(s)", self.reconnects)
                self._on_recovered()
            try:
                for frame in src.frames():
                    last_t_s = self.offset_s + frame.t_s
                    yield Frame(index, last_t_s, frame.rgb, frame.captured_mono_s)
                    index += 1
                    if self._stop.is_set():
                        return
                reason = "camera stopped delivering frames"
            except CAMERA_ERRORS as err:
                reason = f"camera error: {err}"
            self._close_current()
            if self._stop.is_set():
                return
            faulted_at = time.monotonic()
            log.warning("%s; reconnecting", reason)
            self._on_fault(reason)
            self._stop.wait(self.retry_s)

    def _close_current(self) -> None:
        if self._current is not None:
            try:
                self._current.close()
            except CAMERA_ERRORS as err:
                log.debug("closing the failed source: %s", err)
            self._current = None

    def close(self) -> None:
        self._close_current()

    def __enter__(self) -> ReconnectingSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
