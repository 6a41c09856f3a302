"""Lean metrics of one stance and of a start, in the gravity frame (design §3).

Every angle is measured from the ground line's normal (not the image's vertical) and signed by the
direction of travel, so "+" is always forward; distances are in leg lengths. Points are the
filtered ones (One-Euro), since the metrics judge posture, not timing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from appliance.gait.events import FrameSample, Initiation, Step

log = logging.getLogger(__name__)

# Lean and pelvis offset are judged over the last third of the stance ("toward toe-off", design §3).
LATE_STANCE_FRACTION = 1 / 3


@dataclass(frozen=True)
class StrideMetrics:
    lean_deg: float
    pelvis_offset: float
    trunk_deg: float
    hip_over_foot: float
    overstride: float
    cadence_spm: float | None
    speed_ll_s: float
    unsure_fraction: float
    feet_out_fraction: float


@dataclass(frozen=True)
class StartMetrics:
    lean_deg: float
    pelvis_offset: float
    trunk_deg: float
    unsure_fraction: float
    feet_out_fraction: float


def _fu(s: FrameSample, v: np.ndarray, direction: int) -> tuple[float, float]:
    """(forward, up) components of an image vector, in px."""
    return float(v @ s.ground.along) * direction, float(v @ s.ground.up)


def angle_deg(s: FrameSample, v: np.ndarray, direction: int) -> float:
    """Angle of ``v`` from the ground normal, + = leaning forward."""
    f, u = _fu(s, v, direction)
    return math.degrees(math.atan2(f, u))


def line_offset_ll(s: FrameSample, a: np.ndarray, b: np.ndarray, p: np.ndarray, direction: int) -> float:
    """Signed distance of ``p`` from the line a→b (leg lengths), + = ahead of the line."""
    ef, eu = _fu(s, b - a, direction)
    n = math.hypot(ef, eu) or 1.0
    pf, pu = _fu(s, p - a, direction)
    return (pf * eu - pu * ef) / n / s.leg_length_px


def _line_metrics(samples: tuple[FrameSample, ...], track: int, direction: int) -> tuple[float, float, float]:
    leans, offsets, trunks = [], [], []
    for s in samples:
        contact = s.bottom_px(track)
        leans.append(angle_deg(s, s.head_px - contact, direction))
        offsets.append(line_offset_ll(s, contact, s.head_px, s.pelvis_px, direction))
        trunks.append(angle_deg(s, s.shoulders_px - s.pelvis_px, direction))
    return float(np.mean(leans)), float(np.mean(offsets)), float(np.mean(trunks))


def stride_metrics(step: Step) -> StrideMetrics:
    d, k, samples = step.direction, step.track, step.samples
    n_late = max(1, math.ceil(len(samples) * LATE_STANCE_FRACTION))
    lean, offset, trunk = _line_metrics(samples[-n_late:], k, d)
    mid = next((s for s in samples if s.index == step.midstance.frame_index), samples[len(samples) // 2])
    hof = _fu(mid, mid.pelvis_px - mid.midfoot_px(k), d)[0] / mid.leg_length_px
    first = samples[0]
    over = _fu(first, first.midfoot_px(k) - first.pelvis_px, d)[0] / first.leg_length_px
    cadence = None
    if step.previous_contact_t_s is not None:
        dt = step.contact.t_s - step.previous_contact_t_s
        if 0.15 < dt < 1.5:  # one step; longer means a step was missed, shorter is not a step
            cadence = 60.0 / dt
    speed = 0.0
    if len(samples) >= 2:
        ts = np.array([s.t_s for s in samples])
        rel = np.array([_fu(s, s.pelvis_px - s.midfoot_px(k), d)[0] / s.leg_length_px for s in samples])
        if np.ptp(ts) > 0:
            speed = float(np.polyfit(ts, rel, 1)[0])
    unsure = float(np.mean([not s.confident for s in samples]))
    feet_out = float(np.mean([not s.feet_in_frame for s in samples]))
    return StrideMetrics(lean, offset, trunk, float(hof), float(over), cadence, speed, unsure, feet_out)


def start_metrics(init: Initiation) -> StartMetrics | None:
    if not init.samples:
        return None
    tail = init.samples[-2:]  # the push-off itself: the last frames on the push foot
    lean, offset, trunk = _line_metrics(tail, init.track, init.direction)
    unsure = float(np.mean([not s.confident for s in init.samples]))
    feet_out = float(np.mean([not s.feet_in_frame for s in init.samples]))
    return StartMetrics(lean, offset, trunk, unsure, feet_out)
