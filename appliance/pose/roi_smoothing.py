"""One-Euro smoothing of the two auxiliary landmarks that place the next frame's ROI.

MediaPipe always smooths these (``pose_landmark_filtering.pbtxt``: LandmarksSmoothingCalculator,
one_euro_filter min_cutoff 0.01, beta 1.0, derivate_cutoff 1.0), even with ``smooth_landmarks``
off — only the 33 output landmarks are left raw. Without it our crops would jitter a little
differently from MediaPipe's and the landmarks with them, so it is reproduced here:

- values are filtered in pixels (z scaled by the image width; z does not matter for the ROI);
- velocity is scaled by 1 / object scale, the mean of the points' bounding-box width and height;
- the sampling rate is 30 Hz for the first sample, then 1 / Δt from the frame times;
- the filter is reset whenever a frame has no landmarks.
"""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)

MIN_CUTOFF_HZ = 0.01
BETA = 1.0
DERIVATE_CUTOFF_HZ = 1.0
DEFAULT_FREQUENCY_HZ = 30.0
MIN_ALLOWED_OBJECT_SCALE = 1e-6


def _alpha(cutoff_hz: float, frequency_hz: float) -> float:
    te = 1.0 / frequency_hz
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / te)


class OneEuroFilter:
    """Vectorised One-Euro filter over a fixed-size array, MediaPipe's variant (see module doc)."""

    def __init__(self, min_cutoff_hz: float = MIN_CUTOFF_HZ, beta: float = BETA,
                 derivate_cutoff_hz: float = DERIVATE_CUTOFF_HZ) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.derivate_cutoff_hz = derivate_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self._frequency_hz = DEFAULT_FREQUENCY_HZ
        self._last_t_s: float | None = None
        self._raw: np.ndarray | None = None
        self._value: np.ndarray | None = None
        self._dvalue: np.ndarray | None = None

    def apply(self, t_s: float, value: np.ndarray, value_scale: float) -> np.ndarray:
        if self._last_t_s is not None:
            if t_s <= self._last_t_s:
                # MediaPipe returns the input untouched for a non-increasing timestamp.
                return value
            self._frequency_hz = 1.0 / (t_s - self._last_t_s)
        self._last_t_s = t_s
        f = self._frequency_hz
        dvalue = np.zeros_like(value) if self._raw is None else (value - self._raw) * value_scale * f
        a_d = _alpha(self.derivate_cutoff_hz, f)
        self._dvalue = dvalue if self._dvalue is None else a_d * dvalue + (1 - a_d) * self._dvalue
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._dvalue)
        a = 1.0 / (1.0 + (1.0 / (2.0 * math.pi * cutoff)) * f)
        self._value = value.copy() if self._value is None else a * value + (1 - a) * self._value
        self._raw = value.copy()
        return self._value.copy()


class AuxLandmarkSmoother:
    """Smooths the auxiliary points (N, 2) in pixels the way MediaPipe does before building the ROI."""

    def __init__(self) -> None:
        self._filter = OneEuroFilter()

    def reset(self) -> None:
        self._filter.reset()

    def apply(self, t_s: float, points_px: np.ndarray) -> np.ndarray:
        span = points_px.max(axis=0) - points_px.min(axis=0)
        object_scale = float(span.sum() / 2.0)
        if object_scale < MIN_ALLOWED_OBJECT_SCALE:
            return points_px
        return self._filter.apply(t_s, points_px.astype(np.float64), 1.0 / object_scale)
