"""Verdicts: go / no_go with named reasons / unsure, from the metrics and the config thresholds.

Unsure wins over everything: a stride whose keypoints are unsure or out of frame is not judged
(a wrong "no_go" is worse than no verdict). Walking steps are reported but never judged as
running strides. A stance that ended before its push-off (``no_push_off``: the stance leg still
near vertical in the push-off window, i.e. the toe-off was detected early or the stance was split
by a foot-tracking glitch) is unsure too: its "late stance" frames are midstance frames, where a
flexed hip is normal, and judging the line there flagged butt_out on 6 of 45 sprint strides.
A stance longer than any running stance (``implausible_timing``) means the clip's time base is
wrong (slow motion without its capture rate, variable playback speed): cadence and speed would be.
"""

from __future__ import annotations

import logging

from appliance.analysis.lean.metrics import StartMetrics, StrideMetrics
from appliance.config import LeanConfig

log = logging.getLogger(__name__)

GO, NO_GO, UNSURE = "go", "no_go", "unsure"


def judge_stride(m: StrideMetrics, cfg: LeanConfig, running: bool) -> tuple[str, list[str]]:
    if not running:
        return UNSURE, ["walking"]
    if m.feet_out_fraction > cfg.max_unsure_fraction:
        return UNSURE, ["feet_out_of_frame"]
    if m.unsure_fraction > cfg.max_unsure_fraction:
        return UNSURE, ["low_confidence"]
    if m.stance_s > cfg.max_running_stance_s:
        return UNSURE, ["implausible_timing"]
    if m.push_off_leg_deg < cfg.min_push_off_leg_deg:
        return UNSURE, ["no_push_off"]
    reasons: list[str] = []
    if m.hip_over_foot < cfg.sitting_back_hip_over_foot:
        reasons.append("sitting_back")
    if m.pelvis_offset < cfg.butt_out_pelvis_offset:
        reasons.append("butt_out")
    if m.pelvis_offset < 0 and m.trunk_deg - m.lean_deg > cfg.slouch_trunk_minus_lean_deg:
        reasons.append("slouch")
    overstriding = m.overstride > cfg.overstride_limit
    if (m.cadence_spm is not None and m.cadence_spm < cfg.over_lean_cadence_spm and overstriding
            and m.lean_deg > cfg.lean_base_deg + cfg.lean_per_speed_deg * max(m.speed_ll_s, 0.0)):
        reasons.append("over_lean")
    elif overstriding:
        reasons.append("overstride")
    if m.lean_deg < cfg.min_lean_deg:
        reasons.append("upright")
    return (NO_GO, reasons) if reasons else (GO, [])


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
