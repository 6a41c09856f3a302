"""The ground line: our gravity reference (design §1), estimated causally from feet on the ground.

"Vertical" is the normal of the ground line, not the image's y axis, so a camera mounted a few
degrees rolled does not read as lean. The line is fitted to the lowest foot point of each frame
(during running the lower foot is on the ground most of the time): those points are binned along
x and each bin contributes a high percentile of its image y (the bottom of the point cloud, i.e.
the surface; swing feet passing above it are ignored). A slope is fitted only when the bins span
enough ground to measure one (a runner crossing a fixed camera); a treadmill or panned camera
sees the feet in one place, the slope is then unknown and the line is taken as level.

How fast the ground itself moves in the image (a treadmill's belt, a pan) is measured over whole
stances (``StanceGroundSpeed``): a foot on the ground moves with it.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.stats import theilslopes

log = logging.getLogger(__name__)

# A belt runs at one speed: the stances measured on it agree within this fraction of their median
# (male_side: 32 of 32 stances, 27 within 10 %), so one further off was mis-measured (see
# StanceGroundSpeed). A pan changes speed over a few steps, which moves the median itself.
OUTLIER_FRACTION = 0.25


@dataclass(frozen=True)
class GroundFrame:
    """Image ↔ gravity coordinates. ``up`` is the unit ground normal (image coords, y down)."""

    origin_px: tuple[float, float]
    tilt_deg: float  # image angle of the ground line; + = line descends to the right (y grows)

    @property
    def along(self) -> np.ndarray:
        a = math.radians(self.tilt_deg)
        return np.array([math.cos(a), math.sin(a)])

    @property
    def up(self) -> np.ndarray:
        a = math.radians(self.tilt_deg)
        return np.array([math.sin(a), -math.cos(a)])

    def height_px(self, p: np.ndarray) -> np.ndarray:
        """Signed height above the ground line (px, up positive); ``p`` is (..., 2)."""
        return (np.asarray(p) - np.asarray(self.origin_px)) @ self.up

    def along_px(self, p: np.ndarray) -> np.ndarray:
        """Position along the ground line (px, image-right positive)."""
        return (np.asarray(p) - np.asarray(self.origin_px)) @ self.along


# A gap between two frames with feet counts as at most this much of the window (s): the time
# nobody was in view is no camera motion.
MAX_GAP_S = 0.1


class GroundEstimator:
    """Causal ground-line estimate from the lowest foot point of the last ``window_s`` seconds of
    frames with feet in view.

    Only recent points: a camera that moves (hand-held, or turned to follow the runner at the end
    of a start) moves the ground line in the image, and points from before the move lie on another
    line (sprint a10: after the start the camera pans and tilts with the runner; the stance feet
    then stood 0.2-0.3 leg lengths "above" a line fitted to 30 s of points, and a landing and two
    toe-offs were lost). Five seconds hold a runner crossing a fixed camera's view and many
    treadmill strides. The window counts time with feet in view only, so a fixed camera's line
    carries over to the next runner (the site's) however long nobody was there.
    """

    def __init__(self, window_s: float = 5.0, bin_ll: float = 0.3, percentile: float = 85.0,
                 min_span_ll: float = 3.0, max_tilt_deg: float = 6.0, refit_every: int = 5) -> None:
        self.window_s = window_s
        self._pts: deque[tuple[float, float]] = deque()
        self._seen_s: deque[float] = deque()  # each point's time on the "feet in view" clock
        self._clock_s = 0.0
        self._last_t_s: float | None = None
        self.bin_ll = bin_ll
        self.percentile = percentile
        self.min_span_ll = min_span_ll
        self.max_tilt_deg = max_tilt_deg
        self.refit_every = refit_every
        self._n = 0
        self.frame: GroundFrame | None = None

    def add(self, lowest_foot_px: np.ndarray, leg_length_px: float, t_s: float) -> GroundFrame:
        """One frame's lowest foot point at source time ``t_s`` (s); the line as fitted now."""
        if self._last_t_s is not None:
            self._clock_s += min(max(t_s - self._last_t_s, 0.0), MAX_GAP_S)
        self._last_t_s = t_s
        self._pts.append((float(lowest_foot_px[0]), float(lowest_foot_px[1])))
        self._seen_s.append(self._clock_s)
        while self._clock_s - self._seen_s[0] > self.window_s:
            self._seen_s.popleft()
            self._pts.popleft()
        self._n += 1
        if self.frame is None or self._n % self.refit_every == 0 or len(self._pts) < 30:
            self.frame = self._fit(leg_length_px)
        return self.frame

    def _fit(self, leg_length_px: float) -> GroundFrame:
        pts = np.asarray(self._pts)
        width = max(self.bin_ll * leg_length_px, 1.0)
        # Bins centred on the median x, so a mirrored clip gets mirrored bins (same fit, flipped).
        bins = np.floor((pts[:, 0] - np.median(pts[:, 0])) / width + 0.5).astype(int)
        xs, ys, ws = [], [], []
        for b in np.unique(bins):
            sel = pts[bins == b]
            if len(sel) >= 3 or len(pts) < 30:
                xs.append(float(np.median(sel[:, 0])))
                ys.append(float(np.percentile(sel[:, 1], self.percentile)))
                # Equal weight per bin: a runner standing in one place for seconds (the blocks,
                # whose pads hold the feet above the track) must not outweigh the running strides.
                ws.append(1.0)
        xs_a, ys_a, ws_a = np.asarray(xs), np.asarray(ys), np.asarray(ws)
        tilt = 0.0
        if len(xs_a) >= 4 and np.ptp(xs_a) >= self.min_span_ll * leg_length_px:
            slope, _ = np.polyfit(xs_a, ys_a, 1, w=ws_a)
            tilt = float(np.clip(math.degrees(math.atan(slope)), -self.max_tilt_deg, self.max_tilt_deg))
        cx = float(np.average(xs_a, weights=ws_a))
        # Line through the weighted centre of the bin values, with the fitted (or level) slope.
        t = math.tan(math.radians(tilt))
        cy = float(np.average(ys_a - t * (xs_a - cx), weights=ws_a))
        return GroundFrame((cx, cy), tilt)


class StanceGroundSpeed:
    """The ground's image speed along the ground line, measured over whole stances.

    A foot on the ground moves with it: still for a fixed camera, at the belt's speed on a
    treadmill, at the pan's for a panning camera. From frame to frame the model's foot points
    jitter by a third of a treadmill belt's speed (male_side: a per-frame estimate wandered
    460-1300 px/s where the labeller measured the shoes at ~900), over a whole stance the jitter
    averages out. Each stance gives the slope of its toe's position over time (Theil-Sen: a frame
    or two of touch-down at one end, or a jump of the points, does not pull it); the toe, because
    it stays on the ground to the end of the stance while the heel rolls up and forward, and the
    toe-off is the toe leaving the ground's motion. The estimate is the median of the last few
    stances, weighted by their durations (a stance split by the model's points is a short fragment,
    its slope the least sure), none older than a couple of strides; both feet count (the near foot's
    image speed differs from the far foot's by the perspective). A "stance" longer than
    ``max_stance_s`` (the longest running step: a running stance ends before the next landing)
    is two stances merged where the points lost a toe-off: its toe positions follow one foot and
    then the other, so its slope is no belt speed, and weighted by its length it outvoted the real
    stances (treadmill_slowmo's 60 fps view: a 0.7 s "stance" read 1.3 leg lengths/s, the belt
    moves at ~3.2, and for 1.4 s no landing could be placed along the belt). A stance more than
    ``OUTLIER_FRACTION`` off the median is left out (a stance whose points slid to the other foot
    for part of it: the slow-motion clip's 50 fps view read 1.8 leg lengths/s in one, and it pulled
    the median of four from 3.3 to 2.9), and there is no estimate until two stances agree: of two
    that do not, the longer set the speed whichever it was.
    """

    def __init__(self, stances: int = 4, max_age_s: float = 1.5, min_frames: int = 3,
                 max_stance_s: float = math.inf) -> None:
        self.max_age_s = max_age_s
        self.min_frames = min_frames
        self.max_stance_s = max_stance_s
        self._stances: deque[tuple[float, float, float]] = deque(maxlen=stances)  # (end t, px/s, duration s)

    def clear(self) -> None:
        self._stances.clear()

    def add(self, t_s: np.ndarray, along_px: np.ndarray) -> None:
        """One stance's toe positions along the ground line (px) at its frames' times (s)."""
        if len(t_s) < self.min_frames or not 0 < float(t_s[-1] - t_s[0]) <= self.max_stance_s:
            return
        slope = float(theilslopes(along_px, t_s).slope)
        self._stances.append((float(t_s[-1]), slope, float(t_s[-1] - t_s[0])))

    def speed_px_s(self, now_s: float, agree_px_s: float = 0.0) -> float | None:
        """The ground's speed (px/s, image-right positive); None until two recent stances agree on
        it (within ``OUTLIER_FRACTION`` of it, or ``agree_px_s``: the points' jitter, for a still
        ground)."""
        recent = [(v, d) for t, v, d in self._stances if now_s - t <= self.max_age_s]
        if len(recent) < 2:
            return None
        v, w = (np.array(x) for x in zip(*recent, strict=True))
        centre = _weighted_median(v, w)
        keep = np.abs(v - centre) <= max(OUTLIER_FRACTION * abs(centre), agree_px_s)
        if keep.sum() < 2:
            return None
        return _weighted_median(v[keep], w[keep])


def _weighted_median(v: np.ndarray, w: np.ndarray) -> float:
    """The weighted median, the same from either end (an even split takes the middle two's mean)."""
    lower = np.quantile(v, 0.5, weights=w, method="inverted_cdf")
    upper = -np.quantile(-v, 0.5, weights=w, method="inverted_cdf")
    return float((lower + upper) / 2)
