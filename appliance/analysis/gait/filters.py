"""Causal smoothing of keypoint tracks: the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012).

Why One-Euro: a still runner needs heavy smoothing (jitter would read as motion and as lean
changes), a foot landing needs almost none (smoothing delays the contact we are timing). One-Euro
adapts its cut-off to the speed of the signal, so it does both, causally, with one state per value.

Missing samples (no person, or a keypoint the model is unsure of) are handled by the caller: pass
``None`` to hold the state, and the filter restarts from the next sample after a long gap.
"""

from __future__ import annotations

import logging
import math

import numpy as np

log = logging.getLogger(__name__)


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz))
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """One-Euro filter over an array of values (all filtered independently, same parameters).

    ``min_cutoff_hz``: cut-off at rest (lower = smoother when still). ``beta``: how fast the
    cut-off rises with speed, in 1/(speed unit): each call's ``scale`` turns the values' speed into
    that unit (1/leg length for pixel values, so one ``beta`` fits every zoom). The values
    themselves stay in their own unit: filtering pixel positions divided by a leg length that
    changes from frame to frame would filter the image origin's apparent motion too, and a
    mirrored clip would be smoothed differently from the original. ``max_gap_s``: after a longer
    gap the filter restarts.
    """

    def __init__(self, min_cutoff_hz: float = 1.5, beta: float = 0.5, d_cutoff_hz: float = 1.0,
                 max_gap_s: float = 0.3) -> None:
        self.min_cutoff_hz = min_cutoff_hz
        self.beta = beta
        self.d_cutoff_hz = d_cutoff_hz
        self.max_gap_s = max_gap_s
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._x = self._dx = self._t = None

    def __call__(self, t_s: float, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or t_s - self._t > self.max_gap_s or t_s <= self._t:
            if self._t is not None and t_s <= self._t:
                log.debug("non-increasing time %.4f after %.4f: filter restarted", t_s, self._t)
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        dt = t_s - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.d_cutoff_hz, dt)
        self._dx = self._dx + a_d * (dx - self._dx)
        cutoff = self.min_cutoff_hz + self.beta * scale * np.abs(self._dx)
        a = _alpha(cutoff, dt)
        self._x = self._x + a * (x - self._x)
        self._t = t_s
        return self._x.copy()
