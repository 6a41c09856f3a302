"""Raspberry Pi camera via Picamera2: lores stream for inference, sensor timestamps.

picamera2 needs libcamera and exists only on Raspberry Pi OS, so it is imported inside
``PicameraSource`` alone. The conversions and timing maths are pure functions, tested off the Pi.
The main stream is configured too: with a ``CameraRecording`` (``leancam run`` with recording on)
the camera's own H.264 encoder records it while pose runs on the small lores stream (picamera2's
two-stream model; see ``appliance.recording.picamera_output``).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from appliance.errors import BadInputError
from appliance.sources.base import Frame, SourceInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PicameraConfig:
    main_size_px: tuple[int, int] = (1280, 720)
    lores_size_px: tuple[int, int] = (640, 360)
    # 50 fps keeps Camera Module 3 in its full-field 2304×1296 mode (≤ 56 fps); asking for more
    # makes libcamera pick the 120 fps mode, which crops the field of view to 2/3 (see
    # hardware/README.md's mounting table before raising it).
    fps: float = 50.0


class SensorClock:
    """Sensor timestamps (ns) → capture time in seconds from the first one seen.

    Shared by the lores frames and the main stream's encoder, which run on different threads and
    may see their first frame in either order: whichever comes first sets the origin.
    """

    def __init__(self) -> None:
        self.t0_ns: int | None = None
        self._lock = threading.Lock()

    def t_s(self, sensor_ns: int) -> float:
        with self._lock:
            if self.t0_ns is None:
                self.t0_ns = int(sensor_ns)
            return (int(sensor_ns) - self.t0_ns) / 1e9


class CameraRecording(Protocol):
    """Records the main stream with the camera's encoder (``recording.picamera_output``)."""

    main_size_px: tuple[int, int]

    def start(self, cam: Any, clock: SensorClock) -> None: ...

    def stop(self, cam: Any) -> None: ...


def picamera2_available() -> bool:
    """True when picamera2 is importable (Raspberry Pi OS with python3-picamera2)."""
    return importlib.util.find_spec("picamera2") is not None


def lores_to_rgb(array: np.ndarray, fmt: str) -> np.ndarray:
    """Convert a lores capture to HxWx3 RGB.

    On a Pi 4 the lores stream must be YUV420 (planar I420: H*3/2 rows). picamera2's "RGB888" is
    stored B,G,R per pixel and "BGR888" is R,G,B (libcamera names formats by word order).
    """
    if fmt == "YUV420":
        return cv2.cvtColor(array, cv2.COLOR_YUV2RGB_I420)
    if fmt == "RGB888":
        return np.ascontiguousarray(array[..., ::-1])
    if fmt == "BGR888":
        return array
    if fmt in ("XRGB8888", "XBGR8888"):
        rgb = array[..., :3]
        return np.ascontiguousarray(rgb[..., ::-1]) if fmt == "XRGB8888" else np.ascontiguousarray(rgb)
    raise ValueError(f"unsupported lores format {fmt}")


def dropped_between(prev_ns: int, now_ns: int, frame_period_ns: int) -> int:
    """Frames missing between two sensor timestamps (0 when consecutive).

    A gap longer than 1.5 periods means the pipeline did not take the frame(s) in between.
    """
    if frame_period_ns <= 0:
        return 0
    gap = now_ns - prev_ns
    return max(0, round(gap / frame_period_ns) - 1)


class PicameraSource:
    """Frames from the Pi camera's lores stream, timed by the sensor (``SensorTimestamp``)."""

    def __init__(self, config: PicameraConfig | None = None, recording: CameraRecording | None = None) -> None:
        if not picamera2_available():
            raise BadInputError("picamera2 is not installed: this is not a Raspberry Pi OS system with a camera")
        from picamera2 import Picamera2  # only importable on the Pi

        self.config = config or PicameraConfig()
        self.recording = recording
        self.clock = SensorClock()
        main_size = recording.main_size_px if recording is not None else self.config.main_size_px
        try:
            self._cam = Picamera2()
        except (RuntimeError, IndexError) as err:
            raise BadInputError(f"no Pi camera found ({err})") from err
        video_cfg = self._cam.create_video_configuration(
            main={"size": main_size, "format": "YUV420"},
            lores={"size": self.config.lores_size_px, "format": "YUV420"},
            controls={"FrameRate": self.config.fps},
        )
        self._cam.configure(video_cfg)
        self._lores_format = video_cfg["lores"]["format"]
        w, h = self.config.lores_size_px
        self.info = SourceInfo("picamera", w, h, self.config.fps, None)
        self.dropped_frames = 0
        self._cam.start()
        if recording is not None:
            try:
                recording.start(self._cam, self.clock)
            except Exception:
                self._cam.stop()
                self._cam.close()
                raise

    def frames(self) -> Iterator[Frame]:
        period_ns = int(1e9 / self.config.fps)
        prev_ns: int | None = None
        index = 0
        while True:
            try:
                request = self._cam.capture_request()
                got_mono_s = time.monotonic()
            except RuntimeError as err:
                log.error("camera stopped delivering frames: %s", err)
                return
            try:
                ts_ns = int(request.get_metadata()["SensorTimestamp"])
                rgb = lores_to_rgb(request.make_array("lores"), self._lores_format)
            finally:
                request.release()
            if prev_ns is not None:
                self.dropped_frames += dropped_between(prev_ns, ts_ns, period_ns)
            prev_ns = ts_ns
            yield Frame(index, self.clock.t_s(ts_ns), rgb, got_mono_s)
            index += 1

    def close(self) -> None:
        try:
            if self.recording is not None:
                self.recording.stop(self._cam)
        finally:
            self._cam.stop()
            self._cam.close()

    def __enter__(self) -> PicameraSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
