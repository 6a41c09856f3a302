"""Lean metrics and verdicts: geometry on hand-made points, thresholds from the config."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from appliance.config import LeanConfig
from appliance.gait.events import FrameSample
from appliance.gait.ground import GroundFrame
from appliance.lean.metrics import StartMetrics, StrideMetrics, angle_deg, line_offset_ll
from appliance.lean.verdict import judge_start, judge_stride

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


GOOD = StrideMetrics(lean_deg=8.0, pelvis_offset=0.01, trunk_deg=9.0, hip_over_foot=-0.02, overstride=0.15,
                     cadence_spm=178.0, speed_ll_s=3.5, unsure_fraction=0.0, feet_out_fraction=0.0)


def test_a_good_stride_is_go() -> None:
    assert judge_stride(GOOD, LeanConfig(), running=True) == ("go", [])


@pytest.mark.parametrize("change, reason", [
    ({"hip_over_foot": -0.3}, "sitting_back"),
    ({"pelvis_offset": -0.1}, "butt_out"),
    ({"pelvis_offset": -0.02, "trunk_deg": 25.0}, "slouch"),
    ({"cadence_spm": 150.0, "overstride": 0.5, "lean_deg": 20.0}, "over_lean"),
    ({"overstride": 0.5}, "overstride"),
    ({"lean_deg": 0.5}, "upright"),
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


def test_thresholds_come_from_the_config() -> None:
    m = replace(GOOD, hip_over_foot=-0.2)
    assert judge_stride(m, LeanConfig(), True)[0] == "no_go"
    assert judge_stride(m, LeanConfig(sitting_back_hip_over_foot=-0.25), True)[0] == "go"


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
