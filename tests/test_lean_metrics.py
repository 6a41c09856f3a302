"""Lean metrics and verdicts: geometry on hand-made points, thresholds from the config."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from appliance.analysis.gait.events import FrameSample, GaitEvent, Step
from appliance.analysis.gait.ground import GroundFrame
from appliance.analysis.lean.metrics import StartMetrics, StrideMetrics, angle_deg, line_offset_ll, stride_metrics
from appliance.analysis.lean.verdict import judge_start, judge_stride
from appliance.config import LeanConfig

LEVEL = GroundFrame((0.0, 500.0), 0.0)


def test_angles_are_from_the_ground_normal_and_signed_by_direction() -> None:
    up_forward = np.array([100.0, -100.0])  # image y is down: this points up and to the right
    assert angle_deg(LEVEL, up_forward, direction=1) == pytest.approx(45.0)
    assert angle_deg(LEVEL, up_forward, direction=-1) == pytest.approx(-45.0)  # leaning backward
    tilted = GroundFrame((0.0, 500.0), 10.0)  # a rolled camera: the ground normal rolls too
    a = math.radians(10.0)
    rolled = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ up_forward
    assert angle_deg(tilted, rolled, direction=1) == pytest.approx(45.0)


def test_pelvis_offset_sign_behind_the_foot_head_line_is_negative() -> None:
    foot, head = np.array([0.0, 500.0]), np.array([0.0, 300.0])  # vertical line
    ahead, behind = np.array([20.0, 400.0]), np.array([-20.0, 400.0])
    assert line_offset_ll(LEVEL, foot, head, ahead, 1, leg_length_px=100.0) == pytest.approx(0.2)
    assert line_offset_ll(LEVEL, foot, head, behind, 1, leg_length_px=100.0) == pytest.approx(-0.2)
    assert line_offset_ll(LEVEL, foot, head, behind, -1, leg_length_px=100.0) == pytest.approx(0.2)


GOOD = StrideMetrics(lean_deg=8.0, pelvis_offset=0.01, trunk_deg=9.0, hip_over_foot=-0.02, overstride=0.05,
                     cadence_spm=178.0, speed_ll_s=3.5, unsure_fraction=0.0, feet_out_fraction=0.0,
                     push_off_leg_deg=25.0, stance_s=0.2)


def test_a_good_stride_is_go() -> None:
    assert judge_stride(GOOD, LeanConfig(), running=True) == ("go", [])


# Each fault clearly beyond its limit: more than 2 noise sds of one stride (near_limit_z; GOOD runs
# at 3.5 leg lengths/s, so overstride's noise is hypot(0.03, 3.5 · 0.9 / 30) ≈ 0.11).
@pytest.mark.parametrize("change, reason", [
    ({"hip_over_foot": -0.3}, "sitting_back"),
    ({"pelvis_offset": -0.2}, "butt_out"),
    ({"pelvis_offset": -0.1, "trunk_deg": 30.0}, "slouch"),
    ({"cadence_spm": 120.0, "overstride": 0.7, "lean_deg": 25.0}, "over_lean"),
    ({"overstride": 0.7}, "overstride"),
    ({"lean_deg": -3.0}, "upright"),
    ({"trunk_deg": -12.0}, "upright"),  # leaning back from the hips, the foot → head line still forward
])
def test_each_fault_is_named(change: dict, reason: str) -> None:
    verdict, reasons = judge_stride(replace(GOOD, **change), LeanConfig(), running=True)
    assert verdict == "no_go" and reason in reasons


def test_unsure_wins_and_walking_is_never_judged() -> None:
    cfg = LeanConfig()
    bad = replace(GOOD, hip_over_foot=-0.5)
    assert judge_stride(replace(bad, feet_out_fraction=0.5), cfg, True) == ("unsure", ["feet_out_of_frame"])
    assert judge_stride(replace(bad, unsure_fraction=0.5), cfg, True) == ("unsure", ["low_confidence"])
    assert judge_stride(bad, cfg, running=False) == ("unsure", ["walking"])
    # A stance cut before its push-off (leg still near vertical) is not judged on its line.
    assert judge_stride(replace(bad, push_off_leg_deg=8.0), cfg, True) == ("unsure", ["no_push_off"])
    # A stance longer than any running stance: the clip's time base is wrong, nothing is judged.
    assert judge_stride(replace(bad, stance_s=0.8), cfg, True) == ("unsure", ["implausible_timing"])


def test_a_near_vertical_push_off_is_judged_when_it_is_the_runners_own() -> None:
    """A stance cut short pushes off at a fraction of the runner's usual angle; a runner sitting
    back pushes off near vertical on every stride and is judged, and so is a jogger's short push
    near his usual; no pelvis past the foot is never a push-off."""
    cfg = LeanConfig()
    sitting = replace(GOOD, hip_over_foot=-0.5, push_off_leg_deg=8.0)
    assert judge_stride(sitting, cfg, True, usual_push_off_deg=None) == ("unsure", ["no_push_off"])
    assert judge_stride(sitting, cfg, True, usual_push_off_deg=25.0) == ("unsure", ["no_push_off"])
    verdict, reasons = judge_stride(sitting, cfg, True, usual_push_off_deg=9.0)
    assert verdict == "no_go" and "sitting_back" in reasons
    jogger = replace(GOOD, push_off_leg_deg=12.0)
    assert judge_stride(jogger, cfg, True, usual_push_off_deg=None) == ("unsure", ["no_push_off"])
    assert judge_stride(jogger, cfg, True, usual_push_off_deg=20.0) == ("go", [])
    assert judge_stride(jogger, cfg, True, usual_push_off_deg=40.0) == ("unsure", ["no_push_off"])
    assert judge_stride(replace(sitting, push_off_leg_deg=-2.0), cfg, True,
                        usual_push_off_deg=-1.0) == ("unsure", ["no_push_off"])


def test_thresholds_come_from_the_config() -> None:
    m = replace(GOOD, hip_over_foot=-0.3)
    assert judge_stride(m, LeanConfig(), True)[0] == "no_go"
    assert judge_stride(m, LeanConfig(sitting_back_hip_over_foot=-0.6), True)[0] == "go"


@pytest.mark.parametrize("change, code", [
    ({"pelvis_offset": -0.119}, "near_limit_pelvis_offset"),  # issue 14: -0.119 was go,
    ({"pelvis_offset": -0.122}, "near_limit_pelvis_offset"),  # -0.122 butt_out
    ({"overstride": 0.349}, "near_limit_overstride"),  # 0.349 was go,
    ({"overstride": 0.356}, "near_limit_overstride"),  # 0.356 no-go
    ({"hip_over_foot": -0.14}, "near_limit_hip_over_foot"),
    ({"lean_deg": 3.0, "trunk_deg": 3.0}, "near_limit_lean"),
])
def test_a_value_within_its_noise_of_a_threshold_is_unsure_and_named(change: dict, code: str) -> None:
    """Knife edges: 0.003 leg lengths either side of a threshold, far below the measured per-stride
    noise, is no confident verdict either way: unsure, with the metric named."""
    assert judge_stride(replace(GOOD, **change), LeanConfig(), running=True) == ("unsure", [code])


def test_the_runners_recent_strides_steady_a_noisy_stride() -> None:
    """A runner whose strides sit clearly inside the limits: one stride reading just past a limit
    (a contact found a frame late) is judged with them — the median of 5 ignores it — and is go;
    alone it would be unsure. A runner clearly past a limit stays no_go through a stride that
    reads just inside it."""
    cfg = LeanConfig()
    odd = replace(GOOD, pelvis_offset=-0.13)
    assert judge_stride(odd, cfg, True) == ("unsure", ["near_limit_pelvis_offset"])
    assert judge_stride(odd, cfg, True, recent=[GOOD] * 4) == ("go", [])
    bad = replace(GOOD, pelvis_offset=-0.25)
    assert judge_stride(replace(bad, pelvis_offset=-0.11), cfg, True, recent=[bad] * 4) == ("no_go", ["butt_out"])


def test_a_stride_that_clearly_contradicts_the_runner_is_unsure_not_outvoted() -> None:
    """The stride's own value counts too: far past the limit while the runner's recent strides are
    fine (the runner changed form, or this stride was measured badly) is unsure, never a confident
    go outvoting it; from the third such stride the median follows and it is no_go."""
    cfg = LeanConfig()
    bad = replace(GOOD, pelvis_offset=-0.3)
    assert judge_stride(bad, cfg, True, recent=[GOOD] * 4) == ("unsure", ["near_limit_pelvis_offset"])
    assert judge_stride(bad, cfg, True, recent=[GOOD, GOOD, bad, bad]) == ("no_go", ["butt_out"])
    assert judge_stride(bad, LeanConfig(runner_history_strides=1), True, recent=[GOOD] * 4) == ("no_go", ["butt_out"])


def test_start_verdicts() -> None:
    cfg = LeanConfig()
    assert judge_start(StartMetrics(25.0, 0.0, 25.0, 0.0, 0.0), cfg) == ("go", [])
    assert judge_start(StartMetrics(4.0, 0.0, 4.0, 0.0, 0.0), cfg) == ("no_go", ["upright"])
    assert judge_start(StartMetrics(25.0, 0.0, 25.0, 0.0, 0.9), cfg)[0] == "unsure"


def test_frame_sample_contact_point_is_the_lower_of_heel_and_toe() -> None:
    z = np.zeros(2)
    heel, toe = np.array([0.0, 490.0]), np.array([20.0, 500.0])
    s = FrameSample(0, 0.0, z, z, z, (heel, z), (toe, z), z, z, z, (heel, z), (toe, z), LEVEL, 100.0, True, True)
    assert s.bottom_px(0) == pytest.approx([20.0, 500.0])  # toe is lower (late stance)
    assert s.raw_bottom_px(0) == pytest.approx([20.0, 500.0])
    assert s.raw_midfoot_px(0) == pytest.approx([10.0, 495.0])


LL = 100.0  # leg length, px


def _posture(index: int, lean_deg: float, pelvis_back_ll: float = 0.0, head_ahead_ll: float = 0.0,
             toe_x: float = 0.0) -> FrameSample:
    """A runner (moving image-right) on one straight line from the toe at ``lean_deg``, with the
    pelvis pushed ``pelvis_back_ll`` behind the line and the head ``head_ahead_ll`` ahead of it."""
    a = math.radians(lean_deg)
    along = np.array([math.sin(a), -math.cos(a)])  # up the line (image y is down)
    ahead = np.array([math.cos(a), math.sin(a)])  # perpendicular, forward
    toe = np.array([toe_x, 500.0])
    heel = toe + np.array([-20.0, -15.0])  # heel up: late stance
    pelvis = toe + 1.1 * LL * along - pelvis_back_ll * LL * ahead
    shoulders = toe + 1.7 * LL * along
    head = toe + 2.0 * LL * along + head_ahead_ll * LL * ahead
    other = (np.array([toe_x + 80.0, 420.0]), np.array([toe_x + 100.0, 420.0]))  # swing foot, high
    return FrameSample(index, index / 30, head, shoulders, pelvis, (heel, other[0]), (toe, other[1]), head,
                       shoulders, pelvis, (heel, other[0]), (toe, other[1]), LEVEL, LL, True, True)


def _step(samples: list[FrameSample], toe_off: FrameSample) -> Step:
    def ev(kind: str, s: FrameSample) -> GaitEvent:
        return GaitEvent(kind, "left", s.index, s.t_s, s.index + 2, s.t_s + 2 / 30)

    return Step("left", 0, ev("contact", samples[0]), ev("midstance", samples[len(samples) // 2]),
                ev("toe_off", toe_off), tuple(samples), None, True, 1, LL, LEVEL, toe_off)


def test_pelvis_pushed_behind_the_line_is_butt_out_and_a_straight_line_is_not() -> None:
    """The rule's teeth: a posture along one straight line is go, the same with the hips 0.2 leg
    lengths behind it (a bend of ~30° at the hips) is butt_out."""
    straight = _step([_posture(i, 40.0) for i in range(5)], _posture(5, 40.0))
    m = stride_metrics(straight)
    assert m.pelvis_offset == pytest.approx(0.0, abs=1e-6) and m.push_off_leg_deg == pytest.approx(40.0)
    assert judge_stride(m, LeanConfig(), running=True)[0] == "go"
    bent = _step([_posture(i, 40.0, pelvis_back_ll=0.2) for i in range(5)], _posture(5, 40.0, pelvis_back_ll=0.2))
    m = stride_metrics(bent)
    assert m.pelvis_offset == pytest.approx(-0.2)
    verdict, reasons = judge_stride(m, LeanConfig(), running=True)
    assert verdict == "no_go" and "butt_out" in reasons


def test_head_posture_does_not_move_the_pelvis_offset() -> None:
    """Sprinters hold the head ~0.16 leg lengths ahead of the foot→shoulders line (eyes down the
    track); measured against a foot→head line that alone read as "pelvis behind". The pelvis is
    judged against the foot→shoulders line, so the head moves lean_deg, not pelvis_offset."""
    base = stride_metrics(_step([_posture(i, 40.0) for i in range(5)], _posture(5, 40.0)))
    head_down = stride_metrics(_step([_posture(i, 40.0, head_ahead_ll=0.2) for i in range(5)],
                                     _posture(5, 40.0, head_ahead_ll=0.2)))
    assert head_down.pelvis_offset == pytest.approx(base.pelvis_offset, abs=1e-6)
    assert head_down.lean_deg > base.lean_deg + 3.0


def test_a_strides_speed_is_the_bodys_over_the_ground_where_the_tracker_knew_it() -> None:
    """The stance line's slope is the fallback: a stance of a few jittery frames gave any slope (b2:
    0.87 leg lengths/s, a sprinter "walking"); the body's motion over the ground is what ran."""
    samples = [_posture(i, 40.0, toe_x=3.0 * i) for i in range(5)]  # the foot's points slide forward
    slope_only = stride_metrics(_step(samples, _posture(5, 40.0, toe_x=15.0)))
    assert slope_only.speed_ll_s == pytest.approx(0.0, abs=1e-6)  # pelvis and foot slid together
    measured = stride_metrics(replace(_step(samples, _posture(5, 40.0, toe_x=15.0)), body_speed_ll_s=5.5))
    assert measured.speed_ll_s == 5.5
    assert measured.hip_over_foot == pytest.approx(slope_only.hip_over_foot)  # still read on the stance


def test_the_push_off_window_includes_the_toe_off_frame() -> None:
    """The hip extends until the foot leaves; the toe-off frame (usually still on the ground) is
    the push-off posture and must be part of what is judged."""
    samples = [_posture(i, 40.0, pelvis_back_ll=0.3) for i in range(2)]  # hip still flexed
    m = stride_metrics(_step(samples, _posture(2, 40.0)))  # extended at toe-off
    assert m.pelvis_offset > -0.12  # window = last third of 3 frames = the toe-off frame


class _OtherFoot:
    """Stands in for the gait tracker: the other foot's contact times."""

    def __init__(self, contacts_t_s: list[float]) -> None:
        self.contacts_t_s = contacts_t_s

    def other_foot_landed_near(self, track: int, t_s: float, window_s: float) -> bool:
        return any(abs(t - t_s) <= window_s for t in self.contacts_t_s)


@pytest.mark.parametrize("other_contact_t_s, overlaps", [
    (0.40, False),  # after this toe-off (0.30): a flight phase, running
    (0.27, False),  # 30 ms before the toe-off: within max_double_support_s (detection timing)
    (0.20, True),  # 100 ms before: the next stance started inside this one
    (0.02, False),  # together with this contact: feet_together's business, not this rule's
])
def test_a_stance_the_next_one_starts_inside_is_not_judged(other_contact_t_s: float, overlaps: bool) -> None:
    from appliance.analysis.analyzer import StreamingAnalyzer

    samples = [_posture(i, 30.0) for i in range(10)]  # frames at 1/30 s: contact 0.0 s, toe-off 0.3 s
    step = _step(samples[:9], samples[9])
    analyzer = StreamingAnalyzer()
    analyzer.tracker = _OtherFoot([other_contact_t_s])  # type: ignore[assignment]
    assert analyzer._overlaps_next_stance(step) is overlaps
