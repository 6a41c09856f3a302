"""Lean metrics of one stance and of a start, in the gravity frame (design §3).

Every angle is measured from the ground line's normal (not the image's vertical) and signed by the
direction of travel, so "+" is always forward; distances are in leg lengths. Points are the
*unfiltered* keypoints averaged over several frames: a causal filter lags moving points (the
pelvis and head of a sprinter by ~1 frame = 0.25 leg lengths) but not the planted foot, which
biased every pelvis offset backward (evidence in docs/analysis.md); averaging over the late stance
removes jitter without that bias.

Where and against what the pelvis is judged (evidence in docs/analysis.md, "Verdicts"):

- **Push-off window**: the last third of the stance *including the toe-off frame*. The toe-off
  frame is usually still on the ground (detected toe-offs are 0.2-1.2 frames early against the
  sprint labels), and the hip extends right up to it: at 30 fps a window ending before the
  toe-off frame is 1-3 frames before the real push-off and reads the still-flexed hip of late
  midstance as "pelvis behind" (median pelvis offset -0.10 instead of -0.03 leg lengths on the
  sprint strides).
- **pelvis_offset** is measured from the line contact point → mid-shoulders, not → head. In every
  sprint stride the head sat ahead of the foot→shoulders line (median 0.16 leg lengths, 5-95 %:
  0.06-0.24, growing with the lean: eyes down the track), which pulled the foot→head line forward
  and put a perfectly straight foot-hip-shoulder line ~0.08 leg lengths "behind". Head posture is
  not the hips; butt-out is a bend at the hips, which the shoulders line measures.
  ``lean_deg`` stays contact point → head (the whole-body lean, design §3).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from appliance.analysis.gait.events import FrameSample, Initiation, Step
from appliance.analysis.gait.ground import GroundFrame

log = logging.getLogger(__name__)

# Lean and pelvis offset are judged over the last third of the stance, toe-off frame included
# ("toward toe-off", design §3).
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
    # Stance leg (contact point → pelvis) from the ground normal over the push-off window, + = the
    # pelvis ahead of the foot. Small when the stance was cut before push-off (see verdict.py).
    push_off_leg_deg: float
    stance_s: float  # contact → toe-off, real seconds
    # Real seconds between the stance's frames: events are timed to a fraction of a frame, so the
    # noise of metrics read at an event scales with it (verdict.py, [lean] noise_event_timing_frames).
    frame_s: float = 1 / 30
    # The cadence came from the pelvis's bounce (Step.bounce_step_s), not from event times: its
    # noise is not the events' timing noise (verdict.py).
    cadence_from_bounce: bool = False


@dataclass(frozen=True)
class StartMetrics:
    lean_deg: float
    pelvis_offset: float
    trunk_deg: float
    unsure_fraction: float
    feet_out_fraction: float


def _fu(g: GroundFrame, v: np.ndarray, direction: int) -> tuple[float, float]:
    """(forward, up) components of an image vector, in px."""
    return float(v @ g.along) * direction, float(v @ g.up)


def angle_deg(g: GroundFrame, v: np.ndarray, direction: int) -> float:
    """Angle of ``v`` from the ground normal, + = leaning forward."""
    f, u = _fu(g, v, direction)
    return math.degrees(math.atan2(f, u))


def line_offset_ll(g: GroundFrame, a: np.ndarray, b: np.ndarray, p: np.ndarray, direction: int,
                   leg_length_px: float) -> float:
    """Signed distance of ``p`` from the line a→b (leg lengths), + = ahead of the line."""
    ef, eu = _fu(g, b - a, direction)
    n = math.hypot(ef, eu) or 1.0
    pf, pu = _fu(g, p - a, direction)
    return (pf * eu - pu * ef) / n / leg_length_px


def _line_metrics(samples: tuple[FrameSample, ...], track: int, direction: int, g: GroundFrame,
                  ll: float) -> tuple[float, float, float]:
    """Mean (lean_deg, pelvis_offset, trunk_deg) over ``samples`` (see the module docstring)."""
    leans, offsets, trunks = [], [], []
    for s in samples:
        contact = s.raw_bottom_px(track)
        leans.append(angle_deg(g, s.raw_head_px - contact, direction))
        offsets.append(line_offset_ll(g, contact, s.raw_shoulders_px, s.raw_pelvis_px, direction, ll))
        trunks.append(angle_deg(g, s.raw_shoulders_px - s.raw_pelvis_px, direction))
    return float(np.mean(leans)), float(np.mean(offsets)), float(np.mean(trunks))


def push_off_window(step: Step) -> tuple[FrameSample, ...]:
    """The frames lean and pelvis offset are judged on: the last third of the stance, toe-off frame included."""
    frames = step.samples + ((step.toe_off_sample,) if step.toe_off_sample is not None else ())
    n_late = max(1, math.ceil(len(frames) * LATE_STANCE_FRACTION))
    return frames[-n_late:]


def own_samples(step: Step) -> tuple[FrameSample, ...]:
    """The stance frames where the foot's own track has its points: from the frame it was seen
    planted on, if its landing was carried back over frames seen on the other track's points or
    none (``Step.seen_from_index``); all of them when that leaves fewer than two."""
    if step.seen_from_index is None:
        return step.samples
    own = tuple(s for s in step.samples if s.index >= step.seen_from_index)
    return own if len(own) >= 2 else step.samples


def _pelvis_over_foot(step: Step) -> tuple[np.ndarray, np.ndarray]:
    """Times (s) and (pelvis − stance midfoot) along the ground × direction (leg lengths) over the
    stance's own frames (``own_samples``): hip-over-foot is read on their line, speed is its slope."""
    d, k, g, ll = step.direction, step.track, step.ground, step.leg_length_px
    own = own_samples(step)
    return (np.array([s.t_s for s in own]),
            np.array([_fu(g, s.raw_pelvis_px - s.raw_midfoot_px(k), d)[0] / ll for s in own]))


def hip_over_foot_and_speed(step: Step) -> tuple[float, float]:
    """(pelvis − stance midfoot) along the ground × direction at the middle of the stance, per leg
    length, and the running speed over the ground (leg lengths/s), from one line fitted to it.

    A straight line fitted to the value over every stance frame, read at the stance's middle in
    time (half-way from contact to toe-off). Over a stance the pelvis passes the planted foot at
    the running speed, so the value changes by speed × frame interval per frame (0.1-0.3 leg
    lengths at 30 fps): read at the single "lowest pelvis" frame (the first version) it moved with
    that frame's choice — the pelvis height is flat around its minimum, so the frame jumps by 1-3
    frames from stride to stride, and sprint strides read -0.33 … +0.88 within one clip. The line
    also averages the keypoints' jitter over the whole stance. Fewer than 3 frames: their mean.
    The speed is the line's slope (0 with fewer than 2 frames apart in time); a stride's reported
    speed is the body's over the ground where the tracker knew it (``Step.body_speed_ll_s``).
    """
    ts, rel = _pelvis_over_foot(step)
    fit = np.polyfit(ts, rel, 1) if len(ts) >= 2 and np.ptp(ts) > 0 else None
    speed = 0.0 if fit is None else float(fit[0])
    if fit is None or len(ts) < 3:
        return float(np.mean(rel)), speed
    mid_t = 0.5 * (step.contact.t_s + step.toe_off.t_s)
    return float(fit[0] * mid_t + fit[1]), speed


def stride_metrics(step: Step) -> StrideMetrics:
    d, k, samples, g, ll = step.direction, step.track, step.samples, step.ground, step.leg_length_px
    window = push_off_window(step)
    lean, offset, trunk = _line_metrics(window, k, d, g, ll)
    leg = float(np.mean([angle_deg(g, s.raw_pelvis_px - s.raw_bottom_px(k), d) for s in window]))
    hof, speed = hip_over_foot_and_speed(step)
    if step.body_speed_ll_s is not None:
        # The pelvis's motion over the ground up to the toe-off, not the stance line's slope: the
        # midfoot rolls forward as the heel rises (the slope reads sprints 10-15 % slow), and a
        # stance seen on two or three of its own frames gives any slope (b2: 0.87 leg lengths/s,
        # "walking", between strides at 5-8; a11: -2.3).
        speed = step.body_speed_ll_s
    # At the landing frame (or the last frame the foot was seen before it, if the points were lost
    # there), the points of whichever track the foot was seen on.
    first = samples[0] if step.landing_sample is None else step.landing_sample
    landed = k if step.landing_track is None else step.landing_track
    over = _fu(g, first.raw_midfoot_px(landed) - first.raw_pelvis_px, d)[0] / ll
    cadence = None
    if step.bounce_step_s is not None:
        cadence = 60.0 / step.bounce_step_s  # the pelvis's bounce: holds where the feet's events do not
    elif step.previous_contact_t_s is not None and step.step_s is not None:
        dt = step.contact.t_s - step.previous_contact_t_s
        if 0.15 < dt < 1.5:  # one step; longer means a step was missed, shorter is not a step
            # The runner's recent steps that agree (GaitTracker.step_time_s): not quantised to
            # frames, and none from a single interval, which a split step makes look like any other.
            cadence = 60.0 / step.step_s
    unsure = float(np.mean([not s.confident for s in samples]))
    feet_out = float(np.mean([not s.feet_in_frame for s in samples]))
    stance = step.toe_off.t_s - step.contact.t_s
    frame_s = float(np.median(np.diff([s.t_s for s in samples]))) if len(samples) >= 2 else 1 / 30
    return StrideMetrics(lean, offset, trunk, float(hof), float(over), cadence, speed, unsure, feet_out, leg, stance,
                         frame_s if frame_s > 0 else 1 / 30, step.bounce_step_s is not None)


def start_metrics(init: Initiation) -> StartMetrics | None:
    if not init.samples:
        return None
    tail = init.samples[-2:]  # the push-off itself: the last frames on the push foot
    lean, offset, trunk = _line_metrics(tail, init.track, init.direction, init.ground, init.leg_length_px)
    unsure = float(np.mean([not s.confident for s in init.samples]))
    feet_out = float(np.mean([not s.feet_in_frame for s in init.samples]))
    return StartMetrics(lean, offset, trunk, unsure, feet_out)
