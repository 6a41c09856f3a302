"""USB webcam via OpenCV's V4L2 backend: live frames stamped with the host's monotonic clock."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import cv2

from appliance.errors import BadInputError
from appliance.sources.base import Frame, SourceInfo

log = logging.getLogger(__name__)


class WebcamSource:
    """Frames from ``/dev/video<index>``; ``CameraGoneError``-style failures end the iteration."""

    def __init__(self, index: int = 0, width_px: int = 1280, height_px: int = 720, fps: float = 30.0) -> None:
        self._cap = cv2.VideoCapture(index, cv2.CAP_V4L2)
        if not self._cap.isOpened():
            raise BadInputError(f"webcam {index}: cannot open /dev/video{index} (not connected or busy)")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width_px)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height_px)
        self._cap.set(cv2.CAP_PROP_FPS, fps)
        w = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        h = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.info = SourceInfo(f"webcam:{index}", w, h, float(self._cap.get(cv2.CAP_PROP_FPS) or fps), None)

    def frames(self) -> Iterator[Frame]:
        t0: float | None = None
        index = 0
        while True:
            ok, bgr = self._cap.read()
            # Stamp right after the grab: the closest host-side estimate of capture time we have.
            t = time.monotonic()
            if not ok:
                log.warning("webcam stopped delivering frames after %d frames", index)
                return
            t0 = t if t0 is None else t0
            yield Frame(index, t - t0, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), t)
            index += 1

    def close(self) -> None:
        self._cap.release()

    def __enter__(self) -> WebcamSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
