"""Verdicts: go / no_go with named reasons / unsure, from the metrics and the config thresholds.

Unsure wins over everything: a stride whose keypoints are unsure or out of frame is not judged
(a wrong "no_go" is worse than no verdict). Walking steps are reported but never judged as
running strides. A stance that ended before its push-off (``no_push_off``: the stance leg still
near vertical in the push-off window, i.e. the toe-off was detected early or the stance was split
by a foot-tracking glitch) is unsure too: its "late stance" frames are midstance frames, where a
flexed hip is normal, and judging the line there flagged butt_out on 6 of 45 sprint strides. Such
a stance is the exception among a runner's strides, a fraction of his usual push-off angle: a
runner whose every push-off is near vertical (sitting back, a jogger's short push) is judged
(``stride_gate``).
A stance longer than any running stance (``implausible_timing``) means the clip's time base is
wrong (slow motion without its capture rate, variable playback speed): cadence and speed would be.

**No knife edges** (issue 14 step 3). Every thresholded metric has a measured per-stride noise
(``[lean] noise_*``, docs/analysis.md "Verdict stability"). A stride is judged on a robust
per-runner estimate — the median of this stride and the runner's previous ``runner_history_strides``
− 1 judged strides — because one stride's value swings by its noise while a runner's form does not
change from one step to the next; the median ignores one odd stride (a foot point that jumped, a
contact found a frame late) where a mean would follow it. Each test "value beyond its limit" is
then three-valued: confidently yes, confidently no, or too close to tell, when the estimate is
within ``near_limit_z`` standard errors of the threshold or the stride's own value confidently
contradicts it (a runner who just changed form, or this stride measured badly). A stride with no
confident fault and any "too close" test is ``unsure`` with ``near_limit_<metric>``: a value
0.003 leg lengths either side of a threshold no longer flips green to red.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from appliance.analysis.lean.metrics import StartMetrics, StrideMetrics
from appliance.config import LeanConfig

log = logging.getLogger(__name__)

GO, NO_GO, UNSURE = "go", "no_go", "unsure"

# A median of n ≥ 3 noisy values has ~1.25× the standard error of their mean (normal noise).
MEDIAN_EFFICIENCY = 1.25

# The reason given when a metric is too close to its limit to call (one per thresholded metric).
NEAR_LIMIT = {
    "hip_over_foot": "near_limit_hip_over_foot",
    "pelvis_offset": "near_limit_pelvis_offset",
    "trunk_minus_lean": "near_limit_trunk_lean",
    "overstride": "near_limit_overstride",
    "lean": "near_limit_lean",
    "cadence": "near_limit_cadence",
}


@dataclass(frozen=True)
class Measured:
    """One metric as judged: the runner's robust estimate and this stride's own value, with noise."""

    name: str  # key of NEAR_LIMIT
    estimate: float  # median over the runner's recent strides, this one included
    own: float  # this stride's value
    noise: float  # per-stride measurement noise (sd), the metric's unit
    n: int  # strides in the estimate

    @property
    def standard_error(self) -> float:
        """Standard error of ``estimate``: noise/√n (mean of 1-2), 1.25·noise/√n (median of ≥ 3)."""
        return self.noise * (MEDIAN_EFFICIENCY if self.n >= 3 else 1.0) / math.sqrt(self.n)


def beyond(m: Measured, threshold: float, below: bool, z: float) -> bool | None:
    """Is the metric beyond ``threshold`` (under it if ``below``, else over it)?

    True / False when confident; None when the estimate is within ``z`` standard errors of the
    threshold, or the stride's own value is more than ``z`` noise sds on the other side of it.
    """
    sign = -1.0 if below else 1.0  # "beyond" = sign·(value − threshold) > 0
    est = sign * (m.estimate - threshold)
    band = z * m.standard_error
    if abs(est) <= band:
        return None
    own = sign * (m.own - threshold)
    if (est > 0) != (own > 0) and abs(own) > z * m.noise:
        return None  # this stride clearly says the opposite of the runner's recent strides
    return est > 0


def _all(*tests: tuple[bool | None, str]) -> tuple[bool | None, str | None]:
    """Three-valued AND: False if any test is confidently False, True if all are True, else None
    with the first unsure test's metric."""
    if any(t is False for t, _ in tests):
        return False, None
    unsure = next((name for t, name in tests if t is None), None)
    return (None, unsure) if unsure is not None else (True, None)


def _any(*tests: tuple[bool | None, str]) -> tuple[bool | None, str | None]:
    """Three-valued OR, the negation of the AND of the negations: True if any test is confidently
    True, False if all are False, else None with the first unsure test's metric."""
    result, unsure = _all(*((None if t is None else not t, name) for t, name in tests))
    return (None if result is None else not result), unsure


def stride_gate(m: StrideMetrics, cfg: LeanConfig, running: bool,
                usual_push_off_deg: float | None = None) -> str | None:
    """The reason a stride cannot be judged at all (None: it can).

    ``usual_push_off_deg``: the runner's usual push-off leg angle (the median over this stride and
    the runner's recent ones, None before three). A stance cut short (a toe-off found early, a
    stance split by the feet's points) pushes off at a fraction of the runner's usual angle, the
    exception among his strides: below ``push_off_cut_fraction`` of it (and below
    ``min_push_off_leg_deg``, the limit before three strides). A runner whose every push-off is
    near vertical, sitting back or a jogger's short push, is judged: the sprint-calibrated 15°
    alone takes strides of the steady treadmill runner (push-off 15-24°) at a 3° camera roll, and
    every stride of him with his upper body moved 0.3 leg lengths back, who then never gets a
    verdict. A leg not past vertical at all (the pelvis never got over the foot) had no push-off,
    whoever runs.
    """
    if not running:
        return "walking"
    if m.feet_out_fraction > cfg.max_unsure_fraction:
        return "feet_out_of_frame"
    if m.unsure_fraction > cfg.max_unsure_fraction:
        return "low_confidence"
    if m.stance_s > cfg.max_running_stance_s:
        return "implausible_timing"
    limit = cfg.min_push_off_leg_deg
    if usual_push_off_deg is not None:
        limit = min(limit, cfg.push_off_cut_fraction * usual_push_off_deg)
    if m.push_off_leg_deg <= 0.0 or m.push_off_leg_deg < limit:
        return "no_push_off"
    return None


def _measure(name: str, values: list[float], noise: float) -> Measured:
    return Measured(name, float(np.median(values)), values[-1], noise, len(values))


def judge_stride(m: StrideMetrics, cfg: LeanConfig, running: bool, recent: Sequence[StrideMetrics] = (),
                 usual_push_off_deg: float | None = None) -> tuple[str, list[str]]:
    """Verdict of stride ``m``; ``recent`` = the runner's earlier judgeable strides, oldest first
    (the last ``runner_history_strides`` − 1 of them are used with ``m``); ``usual_push_off_deg``
    see ``stride_gate``."""
    gate = stride_gate(m, cfg, running, usual_push_off_deg)
    if gate is not None:
        return UNSURE, [gate]
    keep = max(cfg.runner_history_strides - 1, 0)
    window = [*(list(recent)[-keep:] if keep else []), m]
    z = cfg.near_limit_z

    def measure(name: str, get: Callable[[StrideMetrics], float], noise: float) -> Measured:
        return _measure(name, [get(s) for s in window], noise)

    speed = float(np.median([max(s.speed_ll_s, 0.0) for s in window]))
    # A metric read at an event moves with the runner over the event's timing error (see LeanConfig).
    timing_s = cfg.noise_event_timing_frames * float(np.median([s.frame_s for s in window]))
    timing_ll = speed * timing_s
    hof = measure("hip_over_foot", lambda s: s.hip_over_foot, math.hypot(cfg.noise_hip_over_foot_ll, timing_ll / 2))
    pelvis = measure("pelvis_offset", lambda s: s.pelvis_offset, cfg.noise_pelvis_offset_ll)
    bend = measure("trunk_minus_lean", lambda s: s.trunk_deg - s.lean_deg, cfg.noise_trunk_minus_lean_deg)
    over = measure("overstride", lambda s: s.overstride, math.hypot(cfg.noise_overstride_ll, timing_ll))
    lean = measure("lean", lambda s: s.lean_deg, cfg.noise_lean_deg)
    lean_vs_speed = measure("lean", lambda s: s.lean_deg - cfg.lean_per_speed_deg * speed, cfg.noise_lean_deg)
    cadences = [float(s.cadence_spm) for s in window if s.cadence_spm is not None]

    faults: list[str] = []
    unsure: list[str] = []

    def verdict_of(reason: str, test: tuple[bool | None, str | None]) -> None:
        result, name = test
        if result is True:
            faults.append(reason)
        elif result is None and name is not None and NEAR_LIMIT[name] not in unsure:
            unsure.append(NEAR_LIMIT[name])

    verdict_of("sitting_back", _all((beyond(hof, cfg.sitting_back_hip_over_foot, True, z), "hip_over_foot")))
    verdict_of("butt_out", _all((beyond(pelvis, cfg.butt_out_pelvis_offset, True, z), "pelvis_offset")))
    verdict_of("slouch", _all((beyond(pelvis, 0.0, True, z), "pelvis_offset"),
                              (beyond(bend, cfg.slouch_trunk_minus_lean_deg, False, z), "trunk_minus_lean")))
    overstriding = beyond(over, cfg.overstride_limit, False, z)
    if m.cadence_spm is None:
        slow: bool | None = False  # no cadence for this step: over_lean cannot be said (as before)
    else:
        # 60/dt with dt the difference of two contact times: sd(cadence) = cadence² · √2 · timing / 60;
        # from the pelvis's bounce it is the bounce's own, measured scatter.
        noise_spm = (cfg.noise_bounce_cadence_spm if m.cadence_from_bounce
                     else float(np.median(cadences)) ** 2 * math.sqrt(2) * timing_s / 60.0)
        slow = beyond(_measure("cadence", cadences, noise_spm), cfg.over_lean_cadence_spm, True, z)
    over_lean = _all((overstriding, "overstride"), (slow, "cadence"),
                     (beyond(lean_vs_speed, cfg.lean_base_deg, False, z), "lean"))
    if over_lean[0] is True:
        faults.append("over_lean")
    elif overstriding is True:
        faults.append("overstride")  # a fault either way; which of the two is what is unsure
    else:
        verdict_of("overstride", (overstriding, "overstride"))
    trunk = measure("lean", lambda s: s.trunk_deg, cfg.noise_lean_deg)
    verdict_of("upright", _any((beyond(lean, cfg.min_lean_deg, True, z), "lean"),
                               (beyond(trunk, cfg.min_trunk_deg, True, z), "lean")))
    if faults:
        return NO_GO, faults
    if unsure:
        return UNSURE, unsure
    return GO, []


def judge_start(m: StartMetrics, cfg: LeanConfig) -> tuple[str, list[str]]:
    if m.feet_out_fraction > cfg.max_unsure_fraction:
        return UNSURE, ["feet_out_of_frame"]
    if m.unsure_fraction > cfg.max_unsure_fraction:
        return UNSURE, ["low_confidence"]
    reasons: list[str] = []
    if m.lean_deg < cfg.initiation_min_lean_deg:
        reasons.append("upright")
    if m.pelvis_offset < cfg.initiation_butt_out_pelvis_offset:
        reasons.append("butt_out")
    if m.pelvis_offset < 0 and m.trunk_deg - m.lean_deg > cfg.initiation_slouch_trunk_minus_lean_deg:
        reasons.append("slouch")
    return (NO_GO, reasons) if reasons else (GO, [])
