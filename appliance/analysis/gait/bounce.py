"""Step time from the pelvis's bounce: the body rises and falls once per step.

In running the body is a spring on the stance leg: the pelvis is lowest at midstance and highest
in flight, once per step, left and right alike (walking too, vaulting over the stance leg). The
pelvis is the model's steadiest keypoint, so its period holds where the feet do not: a treadmill's
console pulling a stance foot off the belt for frames at a time loses contacts, not the bounce.
Measured on the treadmill clips (docs/analysis.md "Cadence from the bounce"): 2 s windows give
165–173 steps/min on male_side (truth 168.9) and 172–178 on treadmill_slowmo (truth 176.5), where
the step events gave +1.5 % and +6…+12 %.

The period is the first peak of the height's autocorrelation within a step's range of lags: the
first, because an uneven runner's stride (two steps) correlates as well and would be a later peak.
A window without a clear bounce (standing, the blocks, a start that accelerates, a camera that
changes playback speed) has no peak at least ``min_corr`` high: None, and the cadence comes from
the step events instead.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


def step_period_s(t_s: np.ndarray, height: np.ndarray, min_step_s: float, max_step_s: float,
                  min_corr: float, min_sd: float = 0.0) -> float | None:
    """The bounce period (s) of ``height`` sampled at ``t_s`` (real seconds, increasing), or None.

    ``height``: the pelvis above the ground, any unit; ``min_sd``: less up-and-down than this (sd,
    the same unit) once the trend is removed is no bounce at all. The series is resampled to its median frame
    interval (frames may be dropped), a quadratic trend is removed (a camera tilting, a runner
    rising out of a crouch), and the normalised autocorrelation's first local maximum with a lag
    in [min_step_s, max_step_s] and a value ≥ ``min_corr`` is refined to a fraction of a frame by
    a parabola through it and its neighbours.
    """
    t = np.asarray(t_s, dtype=float)
    y = np.asarray(height, dtype=float)
    if t.size < 8 or t.size != y.size:
        return None
    dt = float(np.median(np.diff(t)))
    if not dt > 0:
        return None
    grid = np.arange(t[0], t[-1] + 0.5 * dt, dt)
    lo, hi = max(1, int(np.ceil(min_step_s / dt))), int(np.floor(max_step_s / dt))
    if grid.size < 2 * hi + 2:
        return None  # at least two periods of the longest step in the window
    series = np.interp(grid, t, y)
    series = series - np.polyval(np.polyfit(grid, series, 2), grid)
    if not float(np.std(series)) > min_sd:
        return None
    n = series.size
    ac = np.correlate(series, series, "full")[n - 1:] / np.arange(n, 0, -1)
    if not ac[0] > 0:
        return None
    ac = ac / ac[0]
    for k in range(max(lo, 1), min(hi, n - 2) + 1):
        if ac[k] >= min_corr and ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]:
            y0, y1, y2 = ac[k - 1], ac[k], ac[k + 1]
            curve = y0 - 2.0 * y1 + y2
            shift = 0.5 * (y0 - y2) / curve if curve < 0 else 0.0
            return float((k + float(np.clip(shift, -0.5, 0.5))) * dt)
    return None
