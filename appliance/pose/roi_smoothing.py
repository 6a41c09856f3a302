"""One-Euro smoothing of the two auxiliary landmarks that place the next frame's ROI.

MediaPipe always smooths these, even with ``smooth_landmarks`` off — only the 33 output landmarks
are left raw. The constants are those of the PoseLandmarkFiltering subgraph compiled into
mediapipe 0.10.14 (read from the wheel's embedded graph config, which differs from the .pbtxt in
older checkouts): LandmarksSmoothingCalculator with one_euro_filter min_cutoff 0.01, beta 10,
derivate_cutoff 1, and OBJECT_SCALE_ROI = the AlignmentPointsRects box of the *raw* auxiliary points.
Without it our crops settle at a different speed from MediaPipe's and the landmarks move with them
(measured: mean deviation on the treadmill golden 4.1 px unsmoothed vs 3.1 px with the older
constants), so it is reproduced here:

- values are filtered in pixels (z scaled by the image width; z does not matter for the ROI);
- velocity is scaled by 1 / object scale, where object scale is the ROI box side before the 1.25
  margin, i.e. 2 × the distance between the two raw points;
- the sampling rate is 30 Hz for the first sample, then 1 / Δt from the frame times;
- the filter is reset whenever a frame has no landmarks.
"""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)

MIN_CUTOFF_HZ = 0.01
BETA = 10.0
DERIVATE_CUTOFF_HZ = 1.0
DEFAULT_FREQUENCY_HZ = 30.0
MIN_ALLOWED_OBJECT_SCALE = 1e-6


def _alpha(cutoff_hz: float, frequency_hz: float) -> float:
    te = 1.0 / frequency_hz
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / te)


class OneEuroFilter:
    """One-Euro filter over a fixed-size array, MediaPipe's variant (see module doc).

    The filter runs on a handful of values (4 for the ROI), so it works on Python floats: after a
    model invoke every distinct NumPy call pays for cold caches (measured ~10-40 µs each on the dev
    VM), while plain float arithmetic stays in the interpreter's hot loop. Same formulas, same
    operation order, same IEEE doubles as an array version.
    """

    def __init__(self, min_cutoff_hz: float = MIN_CUTOFF_HZ, beta: float = BETA,
                 derivate_cutoff_hz: float = DERIVATE_CUTOFF_HZ) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.derivate_cutoff_hz = derivate_cutoff_hz
        self.reset()

    def reset(self) -> None:
        self._frequency_hz = DEFAULT_FREQUENCY_HZ
        self._last_t_s: float | None = None
        self._raw: list[float] | None = None
        self._value: list[float] | None = None
        self._dvalue: list[float] | None = None

    def apply(self, t_s: float, value: np.ndarray, value_scale: float) -> np.ndarray:
        """Filtered copy of ``value`` (any shape, float64) at time ``t_s``."""
        if self._last_t_s is not None:
            if t_s <= self._last_t_s:
                # MediaPipe returns the input untouched for a non-increasing timestamp.
                return value
            self._frequency_hz = 1.0 / (t_s - self._last_t_s)
        self._last_t_s = t_s
        f = self._frequency_hz
        x: list[float] = np.ravel(value).tolist()
        raw, prev, prev_d = self._raw, self._value, self._dvalue
        dx = [0.0] * len(x) if raw is None else [(v - r) * value_scale * f for v, r in zip(x, raw, strict=True)]
        if prev_d is not None:
            a_d = _alpha(self.derivate_cutoff_hz, f)
            dx = [a_d * d + (1 - a_d) * p for d, p in zip(dx, prev_d, strict=True)]
        self._dvalue = dx
        if prev is not None:
            out = []
            for v, p, d in zip(x, prev, dx, strict=True):
                a = 1.0 / (1.0 + (1.0 / (2.0 * math.pi * (self.min_cutoff_hz + self.beta * abs(d)))) * f)
                out.append(a * v + (1 - a) * p)
            x_out = out
        else:
            x_out = list(x)
        self._value = x_out
        self._raw = x
        return np.array(x_out, dtype=np.float64).reshape(np.shape(value))


class AuxLandmarkSmoother:
    """Smooths the auxiliary points (N, 2) in pixels the way MediaPipe does before building the ROI."""

    def __init__(self) -> None:
        self._filter = OneEuroFilter()

    def reset(self) -> None:
        self._filter.reset()

    def apply(self, t_s: float, points_px: np.ndarray) -> np.ndarray:
        # (box width + box height) / 2 of the square alignment box = its side = 2·|p1 − p0|.
        (x0, y0), (x1, y1) = points_px[:2].tolist()
        object_scale = 2.0 * math.hypot(x1 - x0, y1 - y0)
        if object_scale < MIN_ALLOWED_OBJECT_SCALE:
            return points_px
        return self._filter.apply(t_s, points_px, 1.0 / object_scale)
