"""Unit tests of the gait building blocks on small hand-made arrays (real clips: test_gait_clips.py)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pytest

from appliance.analysis.gait.body import BodyPoints, FootPoints, body_points, is_other_body
from appliance.analysis.gait.bounce import step_period_s
from appliance.analysis.gait.direction import DirectionEstimator
from appliance.analysis.gait.events import FrameSample, GaitEvent
from appliance.analysis.gait.feet import FootTrack, FootTracker
from appliance.analysis.gait.filters import OneEuroFilter
from appliance.analysis.gait.ground import GroundEstimator, GroundFrame, StanceGroundSpeed
from appliance.analysis.gait.tracker import GaitTracker
from appliance.config import Config, config_from_dict, load_config
from appliance.errors import ConfigError
from appliance.pose.types import PoseFrame


def test_one_euro_holds_a_constant_and_follows_a_step() -> None:
    f = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    for i in range(10):
        out = f(i / 30, np.array([2.0, -1.0]))
    assert out == pytest.approx([2.0, -1.0])
    outs = [f((10 + i) / 30, np.array([3.0, -1.0]))[0] for i in range(60)]
    assert 2.0 < outs[0] < 2.5  # smoothed, not jumped
    assert outs[-1] == pytest.approx(3.0, abs=0.01)  # converged
    assert all(b >= a for a, b in itertools.pairwise(outs))  # monotone, no overshoot


def test_one_euro_restarts_after_a_gap() -> None:
    f = OneEuroFilter(max_gap_s=0.3)
    f(0.0, np.array([0.0]))
    assert f(1.0, np.array([5.0]))[0] == 5.0  # runner re-entered: no smoothing across the gap


def test_ground_frame_heights_follow_the_tilt() -> None:
    g = GroundFrame((100.0, 500.0), tilt_deg=5.0)
    on_line = np.array([100.0 + 200 * math.cos(math.radians(5)), 500.0 + 200 * math.sin(math.radians(5))])
    assert g.height_px(on_line) == pytest.approx(0.0, abs=1e-9)
    above = on_line + 30 * g.up
    assert g.height_px(above) == pytest.approx(30.0)
    assert g.along_px(on_line) == pytest.approx(200.0)


def test_ground_estimator_recovers_a_rolled_camera_from_feet_crossing_the_frame() -> None:
    est = GroundEstimator()
    rng = np.random.default_rng(1)
    slope = math.tan(math.radians(3.0))
    frame = None
    for i, x in enumerate(np.linspace(50, 1200, 120)):  # lowest foot of a runner crossing in 4 s, with jitter
        frame = est.add(np.array([x, 600 + slope * x + rng.normal(0, 2)]), leg_length_px=100.0, t_s=i / 30)
    assert frame is not None
    assert frame.tilt_deg == pytest.approx(3.0, abs=0.5)


def test_ground_estimator_stays_level_when_the_feet_do_not_travel() -> None:
    est = GroundEstimator()
    frame = None
    for i in range(200):  # treadmill: feet in one place, the slope cannot be measured
        frame = est.add(np.array([300.0 + (i % 7), 500.0 + (i % 3)]), leg_length_px=100.0, t_s=i / 30)
    assert frame is not None and frame.tilt_deg == 0.0


def test_ground_estimator_follows_a_camera_that_was_moved() -> None:
    """A hand-held camera tilted to follow the runner puts the ground 60 px higher in the image:
    once the window has passed, the line is the new one, not a mix of both."""
    est = GroundEstimator(window_s=5.0)
    frame = None
    t = 0.0
    for y in (500.0, 440.0):
        for i in range(300):  # 10 s per camera position, 30 fps, feet on a treadmill
            frame = est.add(np.array([300.0 + (i % 7), y + (i % 3)]), leg_length_px=100.0, t_s=t)
            t += 1 / 30
        assert frame is not None
        assert frame.height_px(np.array([300.0, y])) == pytest.approx(0.0, abs=3.0)


def test_ground_estimator_keeps_a_fixed_cameras_line_while_nobody_is_there() -> None:
    """The window counts time with feet in view: a fixed camera's line, learnt from one runner
    crossing, is still the line when the next one appears a minute later (the site's)."""
    est = GroundEstimator(window_s=5.0)
    slope = math.tan(math.radians(3.0))
    for i, x in enumerate(np.linspace(50, 1200, 120)):
        est.add(np.array([x, 600 + slope * x]), leg_length_px=100.0, t_s=i / 30)
    frame = est.add(np.array([600.0, 600 + slope * 600.0]), leg_length_px=100.0, t_s=64.0)
    assert frame.tilt_deg == pytest.approx(3.0, abs=0.5)


def _landmarks(pelvis_x: float, foot_a_x: float, foot_b_x: float) -> np.ndarray:
    lm = np.zeros((33, 5), dtype=np.float32)
    lm[:, 3:] = 1.0
    lm[:, 0], lm[:, 1] = pelvis_x, 300.0
    lm[[7, 8], 1] = 100.0  # ears
    lm[[11, 12], 1] = 150.0  # shoulders
    lm[[23, 24], 1] = 300.0  # hips
    lm[[25, 26], 1] = 400.0  # knees
    for ankle, heel, toe, x in ((27, 29, 31, foot_a_x), (28, 30, 32, foot_b_x)):
        lm[[ankle, heel, toe], 0] = (x, x - 10, x + 20)
        lm[[ankle, heel, toe], 1] = (490.0, 500.0, 500.0)
    lm[[25, 27, 29, 31], 0] = lm[[25, 27, 29, 31], 0]
    return lm


def test_body_points_leg_length_is_thigh_plus_shank() -> None:
    bp = body_points(_landmarks(200, 200, 200), 640, 640)
    assert bp.leg_length_px == pytest.approx(100 + 90)
    assert bp.head_px == pytest.approx([200, 100])
    assert bp.feet_in_frame and bp.body_in_frame


def test_foot_tracker_keeps_identity_through_a_label_swap() -> None:
    tracker = FootTracker()
    names = []
    for i in range(12):
        a_x, b_x = 100.0 + 5 * i, 300.0 - 5 * i  # two feet moving steadily
        lm = _landmarks(200, a_x, b_x)
        if i == 6:  # the model swaps left and right for one frame
            lm[[27, 29, 31, 28, 30, 32]] = lm[[28, 30, 32, 27, 29, 31]]
        bp = body_points(lm, 640, 640)
        ordered = tracker.assign(i / 30, bp.feet)
        names.append(ordered[0].midfoot_px[0])
    assert names == pytest.approx([105.0 + 5 * i for i in range(12)])  # track 0 never jumped
    assert tracker.tracks[0].name == "left"
    assert tracker.swaps == 1


def _foot(label: str, x: float, y: float) -> FootPoints:
    p = np.array([x, y])
    return FootPoints(label, p, p.copy(), p - [0, 10], 1.0)


def test_a_track_moved_onto_the_other_foot_takes_that_foots_name() -> None:
    # Right-to-left sprints: in the blocks the pairing moved each track onto the other foot, and
    # the tracks kept the names their set-up's 2 s of votes gave them for the whole run: every
    # stride's foot named wrong. The model labels the feet right most of the time, so the name
    # follows its labels of the last fraction of a second, and a single swapped frame does not.
    track = FootTrack(0)
    t = 0.0
    for _ in range(60):  # 2 s of the model calling this foot "left"
        track.update(t, _foot("left", 100.0, 500.0))
        t += 1 / 30
    track.update(t, _foot("right", 100.0, 500.0))  # one swapped frame
    assert track.name == "left"
    for _ in range(8):  # the track now follows the other foot, which the model calls "right"
        t += 1 / 30
        track.update(t, _foot("right", 100.0, 500.0))
    assert track.name == "right"


def test_collapsed_feet_do_not_swap_the_tracks() -> None:
    # Sprint clip b4 frames 95-98 in numbers: a stance foot at (300, 500) and a swing foot passing
    # it. At frame 5 the model puts both feet near the stance foot, 24 px up. Taken as two
    # observations, that gives both tracks wrong velocities and the next frame swaps them (the
    # stance is split and lost); taken as one, the swing track is held and nothing swaps.
    swing = [(240, 490), (252, 480), (264, 470), (276, 461), (288, 452), None, (340, 470)]
    for collapse_ll, expect_swap in ((0.1, False), (0.0, True)):
        tracker = FootTracker(collapse_ll=collapse_ll)
        stance_track = []
        for i, w in enumerate(swing):
            if w is None:
                feet = (_foot("right", 300, 476), _foot("left", 303, 478))
            else:
                feet = (_foot("left", *w), _foot("right", 300, 500))
            ordered = tracker.assign(i / 30, feet, leg_length_px=110.0)
            stance_track.append(tuple(ordered[1].midfoot_px))
            if w is None and collapse_ll:
                assert tracker.held == (True, False)  # the swing track: no news this frame
        assert (stance_track[-1] != (300, 500)) == expect_swap, (collapse_ll, stance_track)


def test_a_stance_foot_is_predicted_from_the_ground_not_its_own_jitter() -> None:
    # male_side frames 73-76 in numbers (treadmill, runner facing left, belt +28 px/frame): the
    # stance foot rides the belt but its keypoint jumps back 9 px at frame 75 while the swing foot
    # comes forward fast; at frame 76 both tracks' own-velocity predictions meet at ~337 px and the
    # pairing swapped them mid-stance. Predicted from the belt's motion, the stance track does not.
    belt_px_s = 28.0 * 30
    stance = [(304, 1199), (352, 1215), (343, 1166), (391, 1188), (421, 1182)]
    swing = [(410, 1109), (395, 1104), (361, 1141), (297, 1156), (261, 1177)]
    for on_ground, expect_swap in ((True, False), (False, True)):
        tracker = FootTracker()
        stance_track = []
        for i, (a, b) in enumerate(zip(stance, swing, strict=True)):
            ground = (np.array([belt_px_s, 0.0]) if on_ground else None, None)
            ordered = tracker.assign(i / 30, (_foot("right", *a), _foot("left", *b)), 277.0, ground)
            stance_track.append(tuple(float(v) for v in ordered[0].midfoot_px))
        assert (stance_track[-2:] != [tuple(map(float, stance[-2])), tuple(map(float, stance[-1]))]) == expect_swap, \
            (on_ground, stance_track)


# male_side frames 14-25 (a portrait phone clip of a treadmill, runner facing left, belt ~ +30 px/frame):
# heel and toe (image px) of the left foot, in a stance from frame 17, and of the right foot swinging
# forward. The model draws the swinging foot onto the stance foot at frames 20-22 (it is really high
# behind the runner) and back up ahead of it at 23.
MALE_SIDE_LEFT = {14: ((251, 1192), (157, 1171)), 15: ((215, 1188), (145, 1155)), 16: ((224, 1185), (146, 1154)),
                  17: ((264, 1206), (182, 1195)), 18: ((296, 1206), (214, 1207)), 19: ((328, 1200), (256, 1215)),
                  20: ((356, 1206), (268, 1224)), 21: ((392, 1210), (305, 1221)), 22: ((416, 1196), (332, 1223)),
                  23: ((439, 1189), (365, 1223)), 24: ((451, 1164), (378, 1205)), 25: ((468, 1167), (418, 1203))}
MALE_SIDE_RIGHT = {14: ((483, 1155), (431, 1189)), 15: ((494, 1113), (430, 1152)), 16: ((453, 1081), (415, 1108)),
                   17: ((458, 1043), (425, 1088)), 18: ((411, 1071), (384, 1103)), 19: ((371, 1152), (315, 1175)),
                   20: ((353, 1196), (272, 1211)), 21: ((372, 1188), (296, 1203)), 22: ((387, 1166), (319, 1190)),
                   23: ((326, 1118), (270, 1139)), 24: ((309, 1157), (225, 1160)), 25: ((263, 1166), (193, 1144))}


def test_the_stance_foot_anchors_the_pairing_where_the_swing_foot_is_drawn_onto_it() -> None:
    # Told which track is in a stance, the tracker keeps the left foot on track 0 through the
    # crossing and holds the swing track while both feet sit on the stance foot; without it the
    # joint cost hands the stance foot's track the swinging foot at frame 22 (the stance splits).
    belt_px_s = np.array([30.0 * 30, 0.0])

    def foot(heel_toe: tuple[tuple[int, int], tuple[int, int]]) -> FootPoints:
        heel, toe = (np.array(p, dtype=float) for p in heel_toe)
        return FootPoints("left", heel, toe, heel + np.array([20.0, -40.0]), 1.0)  # the labels give nothing away

    for stance, expect_left in ((0, True), (None, False)):
        tracker = FootTracker(collapse_ll=0.1)
        track0, held = [], []
        for f in range(14, 26):
            feet = (foot(MALE_SIDE_LEFT[f]), foot(MALE_SIDE_RIGHT[f]))
            down = f >= 17  # the left foot landed at frame 17
            ordered = tracker.assign(f / 30, feet[::-1] if f % 2 else feet, 277.0,
                                     (belt_px_s if down else None, None), stance if down else None)
            track0.append(float(ordered[0].heel_px[0]))
            held.append(tracker.held[1])
        left = [float(MALE_SIDE_LEFT[f][0][0]) for f in range(22, 26)]
        assert (track0[-4:] == left) == expect_left, (stance, track0)
        if stance is not None:
            assert held[6:8] == [True, True]  # frames 20, 21: both feet on the stance foot's place


def test_no_cadence_from_one_step() -> None:
    # The first steps of a treadmill clip whose feet the model has not settled on: a split step
    # (0.16 s, 375 steps/min) is no cadence, nor are two steps that disagree; two that agree are.
    tracker = GaitTracker()
    tracker._fs[0].recent_contacts_t_s.append(0.0)
    tracker._fs[1].recent_contacts_t_s.append(0.16)
    assert tracker.step_time_s(0.16) is None
    tracker._fs[0].recent_contacts_t_s.append(0.5)
    assert tracker.step_time_s(0.5) is None  # 0.16 s and 0.34 s do not agree
    tracker._fs[1].recent_contacts_t_s.append(0.85)
    assert 60 / tracker.step_time_s(0.85) == pytest.approx(60 / 0.345, rel=0.01)


def _ground_sample(index: int, feet_up_px: float) -> FrameSample:
    z = np.zeros(2)
    foot = np.array([0.0, 500.0 - feet_up_px])
    return FrameSample(index, index / 30, z, z, z, (foot, foot), (foot, foot), z, z, z, (foot, foot), (foot, foot),
                       GroundFrame((0.0, 500.0), 0.0), 100.0, True, True)


@pytest.mark.parametrize(("cluster_px_s", "direction", "moving"), [(-280.0, -1, False), (-280.0, 1, True),
                                                                    (280.0, 1, False), (280.0, -1, True)])
def test_the_ground_never_moves_the_runners_way(cluster_px_s: float, direction: int, moving: bool) -> None:
    # Sprint a15 (--perturb 1) in numbers: 12 frames of a sprinter's low feet landing and leaving at
    # 2.8 leg lengths/s the runner's way against 8 still ones (1.5x: the camera would read as moving).
    # A treadmill's belt and a panned background move backward; only that is ground motion.
    tracker = GaitTracker(Config().gait)
    tracker.direction.seed(direction)
    rng = np.random.default_rng(0)
    tracker._ground_v.extend(list(cluster_px_s + rng.uniform(-60, 60, 12)) + list(rng.uniform(-50, 50, 8)))
    high = 0.5 * 100.0  # both feet up: this frame adds no candidate
    v = tracker._ground_velocity(_ground_sample(0, high), _ground_sample(1, high), [0.5, 0.5])
    assert (v != 0.0) == moving, v


def _landing(frame: int) -> GaitEvent:
    return GaitEvent("contact", "left", frame, frame / 30, frame + 3, (frame + 3) / 30)


@pytest.mark.parametrize(("running", "other_landed", "placed"), [
    (True, 18, 18),  # male_side: the other foot landed 4 frames before this toe-off was seen
    (False, 18, 22),  # a walk: the next step lands inside every stance (double support)
    (True, 21, 22),  # within max_double_support_s of it: detection timing, nothing to move
    (True, 8, 22),  # before this stance began: no news about its end
])
def test_a_running_stance_ends_by_the_other_foots_landing(running: bool, other_landed: int, placed: int) -> None:
    tracker = GaitTracker(Config().gait)
    st, other = tracker._fs
    st.stance_contact, st.running_contact = _landing(10), running
    other.last_contact = _landing(other_landed)
    assert tracker._left_by(0, 22) == placed


@pytest.mark.parametrize("start", ["armed", "pending"])
def test_a_stance_in_a_start_keeps_its_own_toe_off(start: str) -> None:
    # In the blocks both feet are down: the push foot's clearance is judged by the start logic, and
    # the first step after it by its confirmation, not re-timed by the other foot's landing.
    tracker = GaitTracker(Config().gait)
    st, other = tracker._fs
    st.stance_contact, st.running_contact = _landing(10), True
    other.last_contact = _landing(18)
    if start == "armed":
        tracker._start.armed = True
    else:
        tracker._start.pending = (1, 18, -1)
    assert tracker._left_by(0, 22) == 22


@pytest.mark.parametrize(("reported_index", "expect_toe_offs"), [(None, [10]), (11, []), (14, [10])])
def test_a_start_does_not_report_the_push_foots_toe_off_twice(reported_index: int | None,
                                                               expect_toe_offs: list[int]) -> None:
    # b7: the state machine reported the push foot's toe-off a frame after its clearance, and the
    # start, decided 0.3 s later, reported another at the clearance. A foot leaves once: the
    # start's is left out when that foot's own came within min_step_s of it.
    tracker = GaitTracker(Config().gait)
    for i in range(21):
        tracker.buffer.append(_two_feet(i, 30.0, ((100.0 + 5.0 * i, 0.0), (60.0, 0.0)), 5.0 * i))
    if reported_index is not None:
        tracker._fs[0].reported_toe_off_t_s = reported_index / 30.0
    tracker._confirm_start((0, 10, 1), tracker.buffer[-1], tracker.buffer[-1], stepped=True)
    assert [e.frame_index for e in tracker.events if e.kind == "initiation"] == [10]
    assert [e.frame_index for e in tracker.events if e.kind == "toe_off"] == expect_toe_offs


def test_cadence_is_read_over_several_steps_not_one_quantised_interval() -> None:
    # 168.9 steps/min at 30 fps: every landing falls on a whole frame, so one step measures 10 or
    # 11 frames (180 or 163.6 steps/min); over 4 steps the mean is within 1 %. A spurious landing
    # shortly before a real one (a split step) is not a step of its own.
    tracker = GaitTracker()
    step_s = 60 / 168.9
    landings = [round(i * step_s * 30) / 30 for i in range(8)]
    for i, t in enumerate(landings):
        tracker._fs[i % 2].recent_contacts_t_s.append(t)
    assert 60 / tracker.step_time_s(landings[-1]) == pytest.approx(168.9, rel=0.01)
    tracker._fs[0].recent_contacts_t_s.append(landings[-1] + 8 / 30)  # a spurious landing, 3 frames early
    later = landings[-1] + 11 / 30
    tracker._fs[1].recent_contacts_t_s.append(later)
    assert tracker._previous_step_t_s(later) == landings[-1]
    assert 60 / tracker.step_time_s(later) == pytest.approx(168.9, rel=0.03)


def _bounce(spm: float, fps: float, seconds: float, seed: int, uneven: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A pelvis height (leg lengths) bouncing once per step, with keypoint jitter and dropped frames;
    ``uneven``: every other step's dip deeper by that share (a runner favouring one leg)."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, seconds, 1 / fps)
    t = t[rng.random(t.size) > 0.05]  # 5 % of frames dropped
    phase = 2 * math.pi * t * spm / 60
    dip = 1 + uneven * (np.floor(t * spm / 60) % 2)
    return t, 0.95 + 0.03 * dip * np.cos(phase) + rng.normal(0, 0.01, t.size) + 0.02 * t  # + slow drift


@pytest.mark.parametrize(("spm", "fps"), [(168.9, 30.0), (176.5, 50.0), (150.0, 60.0), (280.0, 60.0)])
def test_bounce_period_is_the_step_to_a_fraction_of_a_frame(spm: float, fps: float) -> None:
    for seed in range(3):
        t, h = _bounce(spm, fps, 2.0, seed)
        period = step_period_s(t, h, 0.15, 0.6, 0.6)
        assert period is not None and 60 / period == pytest.approx(spm, rel=0.02), (seed, period)


def test_bounce_of_an_uneven_runner_is_the_step_not_the_stride() -> None:
    t, h = _bounce(170.0, 30.0, 2.0, 0, uneven=0.5)
    period = step_period_s(t, h, 0.15, 0.6, 0.6)
    assert period is not None and 60 / period == pytest.approx(170.0, rel=0.02)


def test_no_bounce_no_period() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 2.0, 1 / 30)
    assert step_period_s(t, 0.7 + rng.normal(0, 0.01, t.size), 0.15, 0.6, 0.6) is None  # standing, jitter only
    assert step_period_s(t, 0.7 + 0.1 * t**2, 0.15, 0.6, 0.6, 0.005) is None  # rising out of the blocks, no jitter
    rising = 0.7 + 0.1 * t**2 + rng.normal(0, 0.01, t.size)
    assert step_period_s(t, rising, 0.15, 0.6, 0.6, 0.005) is None  # ... with jitter
    assert step_period_s(t[:20], 0.7 + 0.03 * np.cos(t[:20] * 18), 0.15, 0.6, 0.6) is None  # under two steps seen


def test_tracker_with_nobody_in_frame_emits_nothing() -> None:
    tr = GaitTracker()
    for i in range(90):
        assert tr.push(PoseFrame(i, i / 30, 640, 480, None, 0.0)) == []
    assert tr.steps == [] and tr.initiations == [] and tr.frames_with_pose == 0


def test_config_defaults_and_strict_keys(tmp_path) -> None:
    assert load_config(None) == Config()
    p = tmp_path / "leancam.toml"
    p.write_text("[gait]\nplant_speed_ll_s = 2\n[lean]\nmin_lean_deg = 3.5\n")
    cfg = load_config(p)
    assert cfg.gait.plant_speed_ll_s == 2.0 and cfg.lean.min_lean_deg == 3.5
    with pytest.raises(ConfigError, match="unknown key 'plant_sped_ll_s'"):
        config_from_dict({"gait": {"plant_sped_ll_s": 1.0}})
    with pytest.raises(ConfigError, match="unknown key 'gate'"):
        config_from_dict({"gate": {}})
    with pytest.raises(ConfigError, match=r"must be a (finite )?number"):
        config_from_dict({"lean": {"min_lean_deg": "3"}})
    with pytest.raises(ConfigError, match="must be int"):
        config_from_dict({"gait": {"confirm_frames": 2.5}})
    bad = tmp_path / "bad.toml"
    bad.write_text("[gait\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_standing_still_is_neither_a_start_nor_a_stride() -> None:
    rng = np.random.default_rng(3)
    tr = GaitTracker()
    for i in range(150):  # 5 s of a person standing, with BlazePose-like jitter
        lm = _landmarks(200, 190, 215)
        lm[:, :2] += rng.normal(0, 1.0, size=(33, 2))
        tr.push(PoseFrame(i, i / 30, 640, 640, lm, 1.0))
    assert tr.initiations == [] and tr.steps == []
    assert [e for e in tr.events if e.kind in ("contact", "toe_off", "initiation")] == []


def test_degenerate_poses_are_skipped_not_crashed_on() -> None:
    tr = GaitTracker()
    collapsed = np.zeros((33, 5), np.float32)
    collapsed[:, 3:] = 1.0  # every landmark on one point: leg length 0
    nan = _landmarks(200, 190, 215)
    nan[5, 0] = np.nan
    for i in range(40):
        tr.push(PoseFrame(i, i / 30, 640, 480, collapsed if i % 2 else nan, 1.0))
    assert tr.frames_with_pose == 0 and tr.events == []


def test_a_fixed_direction_is_never_estimated_nor_seeded() -> None:
    """``[unit] direction`` fixes the sign: swing-foot votes and a start's seed do not move it."""
    fixed = DirectionEstimator(fixed=-1)
    assert fixed.sign == -1 and fixed.known
    fixed.seed(1)
    assert fixed.sign == -1 and fixed.votes_ll == 0.0
    assert DirectionEstimator().sign == 1 and not DirectionEstimator().known
    with pytest.raises(ValueError):
        DirectionEstimator(fixed=2)
    assert GaitTracker(direction=-1).direction.sign == -1


def test_a_start_overrules_the_set_up_votes() -> None:
    """Seconds of set-up before a block start (kneeling, fidgeting) can sum to the wrong sign; the
    start's own pelvis move is the direction of travel from then on."""
    est = DirectionEstimator()
    est.votes_ll = 3.0  # the set-up voted +1 firmly
    assert est.known and est.sign == 1
    est.seed(-1)
    assert est.sign == -1


def _stance_then_lift(index: int, held_at: int | None) -> FrameSample:
    """A fixed camera, 30 fps, leg 100 px: foot 0 stands at x 0 until frame 9 and moves off 10 px a
    frame from frame 10 (rising); foot 1 is in the air; the body moves 3 leg lengths/s."""
    at = index - 1 if index == held_at else index  # a held foot keeps its last points
    m = max(0, at - 9)
    heel0, toe0 = np.array([10.0 * m, 500.0 - 10.0 * m]), np.array([20.0 + 10.0 * m, 500.0 - 5.0 * m])
    heel1, toe1 = np.array([-60.0, 420.0]), np.array([-40.0, 420.0])
    pelvis = np.array([10.0 * index, 400.0])
    z = np.zeros(2)
    held = (index == held_at, False)
    return FrameSample(index, index / 30, z, z, pelvis, (heel0, heel1), (toe0, toe1), z, z, pelvis,
                       (heel0, heel1), (toe0, toe1), GroundFrame((0.0, 500.0), 0.0), 100.0, True, True, held)


@pytest.mark.parametrize("held_at", [None, 11])
def test_a_toe_off_seen_between_two_observed_frames_is_not_delayed_by_a_held_one(held_at: int | None) -> None:
    # male_side frame 114: the swing foot drawn onto the landing foot held the leaving foot the
    # frame after it moved off; "has it left" (frame 9 → 10) needs neither that frame nor its points.
    tracker = GaitTracker(Config().gait)
    tracker.direction.seed(1)
    for i in range(16):
        s = _stance_then_lift(i, held_at)
        tracker.buffer.append(s)
        tracker._update_feet(s)
    assert tracker._fs[0].last_toe_off_index == 10


def _belt_stance(end_s: float, speed_px_s: float, frames: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A toe carried by a belt at 30 fps, with the model's jitter (sd 10 px, a third of a frame's
    belt motion on male_side) and its touch-down frame still 25 px short of the belt's motion."""
    t = end_s - np.arange(frames)[::-1] / 30
    x = speed_px_s * (t - t[0]) + rng.normal(0, 10, frames)
    x[0] += 25
    return t, x


def test_the_belt_speed_is_measured_over_whole_stances() -> None:
    rng = np.random.default_rng(3)
    speed = StanceGroundSpeed()
    assert speed.speed_px_s(0.0) is None
    speed.add(*_belt_stance(0.3, 900.0, 9, rng))
    assert speed.speed_px_s(0.3) is None  # one stance is no estimate
    speed.add(*_belt_stance(0.65, 900.0, 9, rng))
    assert speed.speed_px_s(0.65) == pytest.approx(900.0, rel=0.1)  # a single frame: sd 47 %
    # Stances the model's points split: short fragments read slow. They weigh what they last.
    for end in (0.75, 0.85):
        speed.add(*_belt_stance(end, 500.0, 3, np.random.default_rng(0)))
    assert speed.speed_px_s(0.85) == pytest.approx(900.0, rel=0.1)
    assert speed.speed_px_s(0.85 + 1.6) is None  # the runner stopped: old stances do not stand


def test_two_stances_merged_do_not_measure_the_belt() -> None:
    # A toe-off lost between two stances: 0.7 s of toe positions following one foot back along the
    # belt and then the next one from ahead. Its slope is no speed of the belt; weighted by its
    # length it outvoted the real stances.
    rng = np.random.default_rng(5)
    speed = StanceGroundSpeed(max_stance_s=0.6)
    speed.add(*_belt_stance(0.3, 900.0, 9, rng))
    speed.add(*_belt_stance(0.65, 900.0, 9, rng))
    t1, x1 = _belt_stance(1.0, 900.0, 9, rng)
    t2, x2 = _belt_stance(1.35, 900.0, 9, rng)
    merged_t = np.concatenate([t1, np.arange(1, 3) / 30 + t1[-1], t2])
    merged_x = np.concatenate([x1, x1[-1] + np.array([-100.0, -200.0]), x2 - 300.0])
    speed.add(merged_t, merged_x)
    assert speed.speed_px_s(1.35) == pytest.approx(900.0, rel=0.1)
    assert len(speed._stances) == 2  # not measured at all


def test_one_stance_off_the_others_does_not_pull_the_belt_speed() -> None:
    # A belt runs at one speed; a stance whose points slid onto the other foot for part of it reads
    # slower. It is left out of the median of the last stances.
    rng = np.random.default_rng(7)
    speed = StanceGroundSpeed()
    for end, v, frames in ((0.3, 900.0, 9), (0.75, 500.0, 12), (1.1, 950.0, 9), (1.45, 780.0, 9)):
        speed.add(*_belt_stance(end, v, frames, rng))
    # The slid stance is the longest: weighted by duration it set the median (780 px/s) before.
    assert speed.speed_px_s(1.45) == pytest.approx(900.0, rel=0.08)
    # Two stances that disagree are no measure yet (the frames' votes decide until a third comes):
    # the longer of the two had set the speed whichever it was (treadmill_slowmo 50 fps,
    # --perturb 3: 1.4 leg lengths/s for 0.4 s against the belt's ~3.3).
    two = StanceGroundSpeed()
    for end, v, frames in ((0.3, 900.0, 9), (0.75, 500.0, 12)):
        two.add(*_belt_stance(end, v, frames, rng))
    assert two.speed_px_s(0.75) is None
    two.add(*_belt_stance(1.1, 880.0, 9, rng))
    assert two.speed_px_s(1.1) == pytest.approx(890.0, rel=0.08)
    # A still ground: the stances scatter around 0 by the points' jitter, all within it.
    still = StanceGroundSpeed()
    for end, v in ((0.3, 40.0), (0.65, -60.0)):
        still.add(*_belt_stance(end, v, 9, rng))
    assert still.speed_px_s(0.65, agree_px_s=100.0) == pytest.approx(0.0, abs=80.0)


@pytest.mark.parametrize(("after_s", "other_ran", "other_up", "inside"),
                         [(0.12, True, False, True), (0.2, True, False, False), (0.12, False, False, False),
                          (0.12, True, True, False)])
def test_a_landing_early_in_the_other_foots_running_stance_is_no_step(
        after_s: float, other_ran: bool, other_up: bool, inside: bool) -> None:
    # The other foot (track 1) landed at frame 30 (1.0 s) after a flight and is still down. Foot 0
    # "landing" 0.12 s later is the swing foot's points drawn low while it passes; 0.2 s later is a
    # step; after a walking landing (both feet down) or once the other foot is up, it may be one.
    tracker = GaitTracker(Config().gait)
    other = tracker._fs[1]
    other.stance_contact = GaitEvent("contact", "right", 30, 1.0, 33, 1.1)
    other.running_contact, other.grounded = other_ran, True
    index = 30 + round(after_s * 30)
    other.history.extend((i, True, other_up and i >= index - 1) for i in range(30, index + 1))
    assert tracker._inside_other_stance(0, index, 1.0 + after_s) is inside


@pytest.mark.parametrize(("after_s", "split"), [(0.14, True), (0.30, False), (0.42, False)])
def test_a_landing_a_fraction_of_a_step_after_the_last_is_no_step(after_s: float, split: bool,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # The pelvis bounces once a step (0.345 s: 174 steps/min); the other foot landed at 1.0 s. A
    # landing 0.14 s later is the swing foot's points drawn low mid-swing (the slow-motion clip's
    # 50 fps view); 0.30 s is a short step; 0.42 a long one.
    tracker = GaitTracker(Config().gait)
    tracker._fs[1].recent_contacts_t_s.extend([0.31, 1.0])
    tracker._fs[0].recent_contacts_t_s.append(0.655)
    monkeypatch.setattr(tracker, "bounce_step_s", lambda t_s: 0.345)
    assert tracker._split_step(1.0 + after_s) is split
    # No clear bounce seen yet (a sprint start's first steps): no step time to judge by.
    monkeypatch.setattr(tracker, "bounce_step_s", lambda t_s: None)
    assert tracker._split_step(1.0 + after_s) is False
    # An uneven runner's bounce whose first clear peak is the stride (two steps): the landings'
    # own steps (0.345 s) disagree with it, so it judges nothing (else every step would go).
    monkeypatch.setattr(tracker, "bounce_step_s", lambda t_s: 0.69)
    assert tracker._split_step(1.0 + after_s) is False


@pytest.mark.parametrize(("was_moving", "expect_px_s"), [(True, 850.0), (False, 0.0)])
def test_a_moving_ground_stays_moving_while_the_stances_are_carried(was_moving: bool, expect_px_s: float) -> None:
    # male_side 246-247: for two frames the low-foot votes said "still" (the points jittered), the
    # belt read as stopped and a stance split. The last stances were carried at the belt's speed:
    # a ground that was moving stays so. A still ground is only set moving by the frames' votes.
    tracker = GaitTracker(Config().gait)
    tracker.direction.seed(-1)  # male_side: the runner faces left, the belt carries the feet right
    tracker.ground_velocity_px_s = 850.0 if was_moving else 0.0
    rng = np.random.default_rng(1)
    for end in (-0.33, 0.0):
        tracker._stance_ground.add(*_belt_stance(end, 850.0, 9, rng))
    tracker._ground_v.extend(list(rng.uniform(-50, 50, 12)) + list(850.0 + rng.uniform(-60, 60, 8)))
    high = 0.5 * 100.0  # both feet up: this frame adds no candidate
    now = _ground_sample(0, high)
    v = tracker._ground_velocity(now, _ground_sample(1, high), [0.5, 0.5])
    assert v == pytest.approx(expect_px_s, rel=0.1)


def _one_foot_down(index: int, fps: float, along_px: float, height_px: float, foot1_heel_x_px: float,
                   pelvis_x_px: float) -> FrameSample:
    """A fixed camera, leg 100 px, ground at y = 500: foot 0 (heel at ``along_px``, toe 20 px on)
    ``height_px`` up, foot 1 in the air (80 px up, heel at ``foot1_heel_x_px``), the pelvis at
    ``pelvis_x_px``."""
    return _two_feet(index, fps, ((along_px, height_px), (foot1_heel_x_px, 80.0)), pelvis_x_px)


def _run_feet(tracker: GaitTracker, samples: Iterable[FrameSample]) -> tuple[list[int], list[int], int]:
    """Feed ready-made samples to the feet state machine of a tracker running +x: its contacts,
    toe-offs and how many steps (strides) it made."""
    tracker.direction.seed(1)
    for s in samples:
        tracker.buffer.append(s)
        tracker._update_feet(s)
    return ([e.frame_index for e in tracker.events if e.kind == "contact"],
            [e.frame_index for e in tracker.events if e.kind == "toe_off"], len(tracker.steps))


_SWEEP_HEIGHT_PX = {10: 12.0, 11: 10.0, 12: 8.0, 13: 3.0}
_SWEEP_ALONG_PX = {13: 5.0, 14: 15.0, 15: 25.0}


def _landing_sweep(index: int) -> FrameSample:
    """A fixed camera, 60 fps, leg 100 px: foot 0 swings in (50 px up), hovers at frames 10-12 just
    above the ground, comes down by frame 14 while it sweeps back 30 px, stands until frame 39 and
    moves off from 40. Foot 1 is in the air; the body moves 3 leg lengths/s."""
    if index < 10:
        along, height = 0.0, 50.0
    elif index < 40:
        along = 0.0 if index < 13 else _SWEEP_ALONG_PX.get(index, 30.0)
        height = _SWEEP_HEIGHT_PX.get(index, 0.0)
    else:
        along, height = 30.0 + 10.0 * (index - 39), 5.0 * (index - 39)
    return _one_foot_down(index, 60.0, along, height, -60.0, 5.0 * index)


@pytest.mark.parametrize(("min_stance_s", "expect_toe_offs"), [(0.06, [40]), (0.0, [13, 40])])
def test_a_landing_foot_sweeping_back_is_no_toe_off(min_stance_s: float, expect_toe_offs: list[int]) -> None:
    # male_side at 60 fps: a landing foot still swept back faster than the belt for 3-4 frames
    # after the frame it was placed at, and read as a toe-off at its contact or one frame after
    # (without the rule: an extra toe-off, and the stance's own comes with no contact). The body
    # passing over the foot (min_stance_travel_ll) would catch it too: off here.
    cfg = replace(Config().gait, min_stance_s=min_stance_s, min_stance_travel_ll=0.0)
    contacts, toe_offs, _ = _run_feet(GaitTracker(cfg), map(_landing_sweep, range(46)))
    assert contacts == [13]
    assert toe_offs == expect_toe_offs


@pytest.mark.parametrize(("stances_px_s", "expect_px_s"), [(700.0, 700.0), (1300.0, 400.0), (0.0, 0.0)])
def test_the_stances_set_the_ground_speed_within_what_the_frames_allow(stances_px_s: float,
                                                                       expect_px_s: float) -> None:
    # treadmill_slowmo's 60 fps view (--perturb 2): a stance measured with its ends wrong read the
    # belt at 1300 px/s where the low feet moved at 250-390; at that speed no foot read as planted,
    # no stance came to correct it and 1.2 s went by without an event. A stance speed more than
    # twice the frames' is not taken; a slower one is (a fixed camera's stances overrule feet
    # landing and leaving).
    tracker = GaitTracker(Config().gait)
    tracker.direction.seed(-1)  # the belt carries the feet right
    tracker.ground_velocity_px_s = 400.0
    rng = np.random.default_rng(2)
    for end in (-0.33, 0.0):
        tracker._stance_ground.add(*_belt_stance(end, stances_px_s, 9, rng))
    tracker._ground_v.extend(list(400.0 + rng.uniform(-30, 30, 20)))
    high = 0.5 * 100.0
    v = tracker._ground_velocity(_ground_sample(0, high), _ground_sample(1, high), [0.5, 0.5])
    assert v == pytest.approx(expect_px_s, rel=0.1, abs=20.0)


@pytest.mark.parametrize(("was_px_s", "expect_px_s"), [(850.0, 850.0), (400.0, 360.0)])
def test_stances_that_agree_with_the_ground_speed_outlast_a_dip_of_the_frames(was_px_s: float,
                                                                             expect_px_s: float) -> None:
    # male_side with every 7th frame dropped: for 8 frames the low feet's votes clustered at 1.2-1.35
    # leg lengths/s while the belt, and the stances measured on it, ran at 2.9. Twice the frames'
    # speed is the limit for a stance speed that would *change* the ground's (the test above), not
    # for one that agrees with it: the body read as 1.4 leg lengths/s over the ground, a toe-off
    # as "the body has not passed over the foot", and three steps were lost. A stance speed that
    # disagrees with the ground's is still held to the frames' limit.
    tracker = GaitTracker(Config().gait)
    tracker.direction.seed(-1)  # the belt carries the feet right
    tracker.ground_velocity_px_s = was_px_s
    rng = np.random.default_rng(3)
    for end in (-0.33, 0.0):
        tracker._stance_ground.add(*_belt_stance(end, 850.0, 9, rng))
    tracker._ground_v.extend(list(360.0 + rng.uniform(-30, 30, 20)))
    high = 0.5 * 100.0
    v = tracker._ground_velocity(_ground_sample(0, high), _ground_sample(1, high), [0.5, 0.5])
    assert v == pytest.approx(expect_px_s, rel=0.1, abs=20.0)


def _belt_toe_off_sample(index: int, ground_px_s: float, rise_px: float) -> FrameSample:
    """30 fps, leg 100 px: foot 0 stands from frame 0 (its toe carried at ``ground_px_s``) and
    lifts from frame 10, ``rise_px`` a frame, moving off the ground's motion from frame 11 only."""
    x = ground_px_s * index / 30 + (25.0 * (index - 10) if index > 10 else 0.0)
    height = rise_px * max(0, index - 9)
    heel0, toe0 = np.array([x - 20.0, 500.0 - 2 * height]), np.array([x, 500.0 - height])
    foot1 = np.array([300.0, 450.0])
    pelvis = np.array([10.0 * index, 400.0])
    z = np.zeros(2)
    return FrameSample(index, index / 30, z, z, pelvis, (heel0, foot1), (toe0, foot1), z, z, pelvis,
                       (heel0, foot1), (toe0, foot1), GroundFrame((0.0, 500.0), 0.0), 100.0, True, True,
                       (False, False))


@pytest.mark.parametrize(("ground_px_s", "rise_px", "expect"), [(-600.0, 12.0, 10), (0.0, 12.0, 11),
                                                                (-600.0, 4.0, 10), (-600.0, 2.0, 11)])
def test_a_toe_off_on_a_moving_ground_is_the_first_frame_up(ground_px_s: float, rise_px: float,
                                                            expect: int) -> None:
    # male_side: a foot leaves the belt at the belt's speed; its toe is up a frame before it moves
    # off the belt's motion, and the speed test found the toe-offs a frame late. On a fixed camera
    # the speed test stands (a sprinter's toe-offs are not late). The slow-motion treadmill's
    # toe-offs timed at 300 fps: the toe point is ~0.03 leg lengths up when the foot leaves (a
    # 0.04 rise is a toe-off; 0.06, the stance's height jitter, found them 1.6 frames late); a toe
    # up by 0.02 has not left.
    tracker = GaitTracker(Config().gait)
    tracker.ground_velocity_px_s = ground_px_s
    for i in range(13):
        tracker.buffer.append(_belt_toe_off_sample(i, ground_px_s, rise_px))
    tracker._fs[0].stance_contact = GaitEvent("contact", "left", 0, 0.0, 3, 0.1)
    assert tracker._lifted_by(0, 11) == expect


def test_steps_shorter_than_any_runners_are_no_cadence() -> None:
    # The slow-motion treadmill's 60 fps view: split stances 0.125-0.145 s apart agreed with each
    # other and read 415-480 steps/min; no runner steps faster than one step in 0.15 s.
    from appliance.analysis.gait.cadence import step_time_s

    assert step_time_s([0.0, 0.14, 0.28, 0.42, 0.56], 0.56) is None
    assert step_time_s([0.0, 0.22, 0.44, 0.66, 0.88], 0.88) == pytest.approx(0.22)
    # A step takes 0.2-0.6 s: steps agreeing at 0.16-0.19 s are split stances too (the 37.5 fps
    # view's first second: 307-321 steps/min), a sprinter's 6-frame steps at 30 fps are not.
    assert step_time_s([0.0, 0.17, 0.36, 0.53, 0.72], 0.72) is None
    six_frames = 6 / 29.97
    assert step_time_s([i * six_frames for i in range(5)], 4 * six_frames) == pytest.approx(six_frames)


def _jump_in_stance(index: int) -> FrameSample:
    """A fixed camera, 30 fps, leg 100 px, running +x at 3 leg lengths/s: foot 0 lands at frame 6
    0.4 leg lengths ahead of the pelvis, its points jump 30 px up and 25 px on at frames 9-11 (the
    pose model, not the foot), it stands until frame 25 and pushes off from 26, far behind the
    pelvis by then. Foot 1 swings forward in the air."""
    if index < 6:
        along, height = 100.0, 50.0
    elif index < 26:
        along, height = (125.0, 30.0) if 9 <= index <= 11 else (100.0, 0.0)
    else:
        along, height = 100.0 + 15.0 * (index - 25), 8.0 * (index - 25)
    return _one_foot_down(index, 30.0, along, height, 25.0 * index - 60.0, 10.0 * index)


@pytest.mark.parametrize(("ahead_ll", "expect_toe_offs"), [(0.25, [26]), (0.0, [9, 26])])
def test_a_foot_ahead_of_the_body_has_not_pushed_off(ahead_ll: float, expect_toe_offs: list[int]) -> None:
    # treadmill_slowmo at 480x360: the stance foot's points jump off it for 4-5 frames early in the
    # stance and read as a toe-off, the foot still 0.3-0.5 leg lengths ahead of the pelvis; a
    # runner pushes off behind the body, so the stance goes on to its real toe-off. (The body has
    # not passed over the foot either, min_stance_travel_ll: off here.)
    cfg = replace(Config().gait, toe_off_ahead_ll=ahead_ll, min_stance_travel_ll=0.0)
    contacts, toe_offs, steps = _run_feet(GaitTracker(cfg), map(_jump_in_stance, range(32)))
    assert contacts[0] == 6
    assert toe_offs == expect_toe_offs
    assert steps == len(expect_toe_offs)


def _belt_tracker(carried_landing_ll: float | None = None) -> GaitTracker:
    """A tracker that has measured the belt carrying the feet at 600 px/s backward (-x)."""
    cfg = Config().gait
    if carried_landing_ll is not None:
        cfg = replace(cfg, carried_landing_ll=carried_landing_ll)
    tracker = GaitTracker(cfg)
    rng = np.random.default_rng(3)
    for end in (-0.4, -0.05):
        tracker._stance_ground.add(*_belt_stance(end, -600.0, 9, rng))
    tracker._ground_v.extend(list(-600.0 + rng.uniform(-20, 20, 20)))
    tracker.ground_velocity_px_s = -600.0
    return tracker


def _lost_after_landing(index: int) -> FrameSample:
    """A treadmill seen at 30 fps, leg 100 px, the belt carrying the feet 600 px/s backward (-x),
    the pelvis still at x = 60: foot 0 swings in and lands at frame 6 at x = 100, is carried by the
    belt, and its points are drawn 60 px up and 50 px on at frames 7-8 (the pose model losing it);
    foot 1 is in the air."""
    if index < 6:
        along, height = 60.0 + 6.0 * index, 40.0
    elif index in (7, 8):
        along, height = 150.0, 60.0
    else:
        along, height = 100.0 - 20.0 * (index - 6), 0.0
    return _one_foot_down(index, 30.0, along, height, 0.0, 60.0)


@pytest.mark.parametrize(("carried_ll", "expect_contacts"), [(0.12, [6]), (0.0, [9])])
def test_a_landing_lost_by_the_pose_is_found_along_the_belt(carried_ll: float, expect_contacts: list[int]) -> None:
    # treadmill_slowmo at 480x360: the model loses the landing foot for a few frames just after
    # it lands, and the landing was found where its points came back, under the body. Along the
    # belt's motion the frame where the foot touched down is on the same track: that is the landing.
    contacts, _, _ = _run_feet(_belt_tracker(carried_ll), map(_lost_after_landing, range(14)))
    assert contacts == expect_contacts


def _lost_for_longer(index: int) -> FrameSample:
    """As ``_lost_after_landing``, but the foot hovers low and still 0.4 leg lengths ahead of the
    pelvis (x = 100, 10 px up) at frames 3-5, lands at frame 6, and its points are drawn 60 px up
    at frames 6-10 (0.17 s, longer than the points' gaps the walk along the belt bridges)."""
    if index < 3:
        along, height = 60.0 + 12.0 * index, 40.0
    elif index < 6:
        along, height = 100.0, 10.0
    elif index <= 10:
        along, height = 150.0, 60.0
    else:
        along, height = 100.0 - 20.0 * (index - 6), 0.0
    return _one_foot_down(index, 30.0, along, height, 0.0, 60.0)


@pytest.mark.parametrize(("carried_ll", "expect_contacts"), [(0.12, [6]), (0.0, [11])])
def test_a_landing_lost_for_longer_is_where_the_belt_met_the_hovering_foot(
        carried_ll: float, expect_contacts: list[int]) -> None:
    # treadmill_slowmo at 480x360: the model loses the landing foot for 4-6 frames at 50 fps (the
    # leg drawn on the console) and its points come back 0.12-0.14 s into the stance. The foot was
    # last seen hovering low ahead of the body; the belt's path back from where it was found
    # passes that spot at the touchdown.
    contacts, _, _ = _run_feet(_belt_tracker(carried_ll), map(_lost_for_longer, range(18)))
    assert contacts == expect_contacts


def _hovers_while_the_other_pushes_off(index: int) -> FrameSample:
    """``_lost_for_longer``'s foot 0, with foot 1 on the belt behind the pelvis until frame 4 and
    rising off it from frame 5 and swinging forward: the swing foot hovers while the other foot
    pushes off."""
    foot0 = _lost_for_longer(index)
    foot1 = (40.0 - 20.0 * index, 0.0) if index <= 5 else (-60.0 + 15.0 * (index - 5), min(30.0 * (index - 5), 60.0))
    return _two_feet(index, 30.0, ((float(foot0.raw_heel_px[0][0]), 500.0 - float(foot0.raw_heel_px[0][1])),
                                   foot1), 60.0)


def test_the_hovering_sighting_may_come_before_the_other_foots_toe_off() -> None:
    # treadmill_slowmo's 50 fps view: the landing foot hovered low ahead of the body while the
    # other foot was still pushing off, then its points were drawn onto the console from just
    # before its landing. The landing is after the other foot's toe-off; the sighting it is
    # placed from need not be, and without it the landing was found 0.1 s into the stance.
    contacts, toe_offs, _ = _run_feet(_belt_tracker(), map(_hovers_while_the_other_pushes_off, range(18)))
    assert toe_offs and toe_offs[0] == 6
    assert contacts == [6]


def test_a_carried_stances_level_is_read_where_its_own_points_were_on_it() -> None:
    # A landing carried back over frames where the foot's points were drawn 60 px up (frames
    # 6-10): those frames show something else, and the stance's level (above which the foot is
    # up: "points stuck" and the toe-off's first frame up) is read from frame 11 on, where its
    # points were on the foot. With them in, the level was 0.36 leg lengths and a departure at
    # belt level read as "still down".
    tracker = _belt_tracker()
    contacts, _, _ = _run_feet(tracker, map(_lost_for_longer, range(18)))
    assert contacts == [6]
    assert tracker._fs[0].planted_from == 11
    settle = tracker.cfg.contact_settle_ll
    assert tracker._stance_top_ll(0, 16) == pytest.approx(settle)  # frames 11-15, all on the belt


def _swing_drawn_low(index: int) -> FrameSample:
    """60 fps on a belt (10 px a frame back), the pelvis at x = 60, running +x: foot 1 stands until
    frame 5 and swings from 6; foot 0 lands at frame 9 at x = 120 and stands; foot 1's points are
    drawn onto the belt behind the pelvis at frames 14-17, then rise again."""
    if index <= 5:
        foot1 = (40.0 - 10.0 * index, 0.0)
    elif 14 <= index <= 17:
        foot1 = (20.0 - 10.0 * (index - 14), 0.0)
    else:
        foot1 = (-10.0 + 5.0 * (index - 5), 30.0)
    foot0 = (60.0 + 7.0 * index, 40.0) if index < 9 else (120.0 - 10.0 * (index - 9), 0.0)
    return _two_feet(index, 60.0, (foot0, foot1), 60.0)


def test_the_swing_foot_drawn_low_under_the_body_does_not_push_off_again() -> None:
    # male_side at 60 fps: 0.15 s after its toe-off, just after the other foot's landing, the swing
    # foot's points were drawn low behind the pelvis for 4 frames ("too soon" to be a landing) and
    # their rise was reported as a second toe-off. Feet alternate: this foot lands next after the
    # other's stance, ahead of the body, so nothing that ends such a "stance" is a toe-off.
    contacts, toe_offs, _ = _run_feet(_belt_tracker(), map(_swing_drawn_low, range(30)))
    assert contacts == [9]
    assert toe_offs == [6]


def _points_leave_early(index: int) -> FrameSample:
    """A fixed camera at 60 fps, the body moving 3 leg lengths/s (5 px a frame): foot 0 lands at
    frame 10 at x = 55, just ahead of the pelvis, and stands until frame 27, but its points run off
    forward at frames 16-18 and come back; foot 1 swings in the air."""
    if index < 10:
        foot0 = (5.0 * index + 5.0, 30.0)
    elif 16 <= index <= 18:
        foot0 = (55.0 + 20.0 * (index - 15), 10.0)
    elif index < 28:
        foot0 = (55.0, 0.0)
    else:
        foot0 = (55.0 + 15.0 * (index - 27), 6.0 * (index - 27))
    return _two_feet(index, 60.0, (foot0, (5.0 * index - 60.0, 60.0)), 5.0 * index)


@pytest.mark.parametrize(("travel_ll", "expect_toe_offs"), [(0.4, [28]), (0.0, [16, 28])])
def test_no_toe_off_before_the_body_has_passed_over_the_foot(travel_ll: float, expect_toe_offs: list[int]) -> None:
    # 0.1 s after the landing the body has moved 0.3 leg lengths; a stance lets it move about one
    # (from landing ahead of the foot to pushing off behind it): the points left, not the foot.
    cfg = Config().gait
    tracker = GaitTracker(replace(cfg, min_stance_travel_ll=travel_ll))
    _, toe_offs, _ = _run_feet(tracker, map(_points_leave_early, range(36)))
    assert toe_offs == expect_toe_offs


def _two_feet(index: int, fps: float, feet: tuple[tuple[float, float], tuple[float, float]],
              pelvis_x_px: float) -> FrameSample:
    """Leg 100 px, the ground (or belt) at y = 500: each track's heel at (along, height up), its toe
    20 px on, the pelvis at ``pelvis_x_px``."""
    heels = tuple(np.array([x, 500.0 - h]) for x, h in feet)
    toes = tuple(np.array([x + 20.0, 500.0 - h]) for x, h in feet)
    pelvis = np.array([pelvis_x_px, 400.0])
    z = np.zeros(2)
    return FrameSample(index, index / fps, z, z, pelvis, heels, toes, z, z, pelvis, heels, toes,
                       GroundFrame((0.0, 500.0), 0.0), 100.0, True, True, (False, False))


def _stance_foot(index: int, stuck: range = range(0)) -> tuple[float, float]:
    """60 fps: a foot that lands at frame 6 at x = 120, is carried back by the belt 10 px a frame,
    and rises off it from frame 21 (its points stopped at ``stuck`` frames, the foot on the belt)."""
    if index < 6:
        return 60.0 + 10.0 * index, 40.0
    if index < 21:
        return 120.0 - 10.0 * ((stuck.start if index in stuck else index) - 6), 0.0
    return 120.0 - 150.0 + 12.0 * (index - 20), 8.0 * (index - 20)


def test_points_stuck_in_mid_stance_on_a_belt_are_no_toe_off() -> None:
    # male_side at 60 fps: the stance foot's points stay still for 3-4 frames while the belt moves
    # on, which reads as a departure at ground level; a foot that leaves the belt rises first.
    stuck = range(15, 19)
    contacts, toe_offs, steps = _run_feet(
        _belt_tracker(), (_two_feet(i, 60.0, (_stance_foot(i, stuck), (-100.0 + 8.0 * i, 80.0)), 60.0)
                          for i in range(30)))
    assert contacts == [6]
    assert toe_offs == [21]
    assert steps == 1


def _swapped_in_stance(index: int) -> FrameSample:
    """60 fps: foot A lands at frame 6 and stands to frame 20 (``_stance_foot``); foot B swings
    forward in the air. The model draws track 1 on A from frame 10 (B's points on the stance
    foot), and from frame 15, with A under the pelvis, track 0 on B: A's stance goes on on
    track 1's points."""
    a = _stance_foot(index)
    b = (-100.0 + 12.0 * index, 40.0 if index < 24 else 0.0)
    track0 = a if index < 15 else b
    track1 = a if index >= 10 else b
    return _two_feet(index, 60.0, (track0, track1), 60.0)


def test_a_stance_whose_points_pass_to_the_other_track_is_one_stance() -> None:
    # The swing foot's points land on the stance foot (no step: on its spot), then the stance
    # foot's own points jump to the swing foot, read as a toe-off 6 frames early. The foot
    # there is still down: the stance goes on to its toe-off on the other track's points.
    contacts, toe_offs, steps = _run_feet(_belt_tracker(), map(_swapped_in_stance, range(30)))
    assert contacts[0] == 6
    assert toe_offs == [21]
    assert steps == 1


@pytest.mark.parametrize(("first_frame", "expect_contacts"), [(0, []), (-4, [0])])
def test_a_foot_down_from_the_first_frame_tracked_has_no_contact(first_frame: int,
                                                                 expect_contacts: list[int]) -> None:
    # male_side at 60 fps: a stance under way when the clip starts, its landing found at frame 4
    # and carried back along the belt to frame 0, was reported as a contact at frame 0 and its
    # stride measured. A landing not seen is none; with frames of the swing before it, it is.
    tracker = _belt_tracker()
    tracker.direction.seed(1)
    tracker._fs[0].grounded = tracker._fs[1].grounded = False
    for i in range(first_frame, 12):
        foot = (120.0 - 10.0 * i, 0.0) if i >= 0 else (60.0 - 5.0 * i, 40.0)
        tracker.buffer.append(_two_feet(i, 60.0, (foot, (-100.0 + 8.0 * i, 80.0)), 60.0))
    tracker._contact(0, 4, tracker.buffer[-1])
    assert [e.frame_index for e in tracker.events if e.kind == "contact"] == expect_contacts
    assert tracker._fs[0].grounded


@pytest.mark.parametrize("rate_error", [-2e-5, 0.0, 2e-5])
def test_whole_frames_do_not_depend_on_the_timestamps_rounding(rate_error: float) -> None:
    # The frame interval comes from timestamps rounded to the microsecond, scaled by a capture rate
    # (60 given for a 59.999 fps clip): 0.1 s read 5.99999 or 6.00002 frames at 60 fps, and 0.05 s
    # 1.49998 or 1.50002 at 30, and the windows built on them flipped between clips.
    from appliance.analysis.gait.frames import frames_covering, frames_for

    assert frames_covering(0.1, (1 + rate_error) / 60) == 6
    assert frames_covering(0.1, (1 + rate_error) / 30) == 3
    assert frames_for(0.05, (1 + rate_error) / 30) == 1
    assert frames_for(0.033, (1 + rate_error) / 60) == 2


def _body_at(x_px: float, leg_px: float = 100.0) -> BodyPoints:
    p = np.array([x_px, 300.0])
    heel, toe, ankle = np.array([x_px, 400.0]), np.array([x_px + 10, 400.0]), np.array([x_px, 390.0])
    foot = FootPoints("left", heel, toe, ankle, 1.0)
    return BodyPoints(np.array([x_px, 150.0]), np.array([x_px, 200.0]), p, (foot, foot), leg_px, 1.0, 1.0,
                      True, True)


@pytest.mark.parametrize(("jump_px", "dt_s", "other"), [(45.0, 1 / 30, False), (400.0, 1 / 30, True),
                                                        (250.0, 0.2, False), (250.0, 1 / 300, True)])
def test_a_pose_that_jumps_farther_than_a_body_moves_is_another_body(jump_px: float, dt_s: float,
                                                                    other: bool) -> None:
    # A sprinter's pelvis moves ~0.45 leg lengths a frame at 30 fps (13 leg lengths/s), and 2.5 in
    # 0.2 s without a pose; the pose model's jump from another person to the athlete (right-to-left
    # starts, their first 5-12 frames) was 3.7-5.1 leg lengths in one frame. Never under 2 leg
    # lengths, however high the frame rate (keypoint jitter at 300 fps is no teleport).
    assert is_other_body(_body_at(500.0), 1.0, _body_at(500.0 + jump_px), 1.0 + dt_s) is other
    # The shorter leg is the unit: a small far-away person jumping onto a near one is as far.
    assert is_other_body(_body_at(500.0, 60.0), 1.0, _body_at(500.0 + jump_px, 200.0), 1.0 + dt_s) is other


def test_the_body_speed_at_a_dropped_frame_is_that_of_the_last_frame_seen() -> None:
    # A start is confirmed on the body's speed at the frame body_speed_window_s after the push foot
    # left; where the camera dropped that frame there was no speed, and "unknown" let any start
    # through (a kneeling sprinter's drifting camera, a14, is held back only by that test).
    tracker = GaitTracker(Config().gait)
    for i in [*range(0, 12), *range(13, 20)]:  # frame 12 dropped; the pelvis moves 60 px/s
        tracker.buffer.append(_two_feet(i, 30.0, ((0.0, 0.0), (50.0, 0.0)), 2.0 * i))
    assert tracker._sample_at(12) is None
    assert tracker.body_speed_ll_s(12) == pytest.approx(tracker.body_speed_ll_s(11))
    assert tracker.body_speed_ll_s(12) == pytest.approx(0.6)


@pytest.mark.parametrize(("stance_s", "expect"), [(0.3, "foot ahead of the pelvis"), (0.7, None)])
def test_a_stance_longer_than_any_running_step_has_ended(stance_s: float, expect: str | None) -> None:
    # The slow-motion treadmill at 25 fps (--perturb 1): a toe-off missed where the belt read as
    # still for 4 frames, and from then on every departure of that foot was refused (its toe ahead
    # of the pelvis: it was in its next swing; or its points at stance level): one "stance" of 1 s
    # swallowed four steps. No running stance outlasts the longest step (max_step_s): past it the
    # guards against a departure seen too early no longer hold.
    tracker = GaitTracker(Config().gait)
    tracker.direction.seed(1)
    fps = 25.0
    n = round(stance_s * fps)
    for i in range(n + 2):  # foot 0 on the ground (toe at 120 px), the pelvis 80 px behind it at the end
        tracker.buffer.append(_two_feet(i, fps, ((100.0, 0.0), (0.0, 60.0)), 40.0 if i >= n - 1 else 100.0))
    st = tracker._fs[0]
    st.grounded = True
    st.stance_contact = GaitEvent("contact", "left", 0, 0.0, 2, 0.08)
    st.landed_t_s = 0.0
    assert tracker._cannot_have_left(0, n, tracker.buffer[-1]) == expect


def test_what_the_frame_buffer_forgot_is_forgotten_where_frames_were_dropped() -> None:
    # Per-frame "planted" decisions were forgotten one index BUFFER_FRAMES back; where that frame had
    # been dropped, its older neighbour's entry stayed for good: an appliance that drops frames for
    # hours grew without bound (some 15 000 entries an hour at one frame in seven dropped).
    from appliance.analysis.gait.tracker import BUFFER_FRAMES

    tracker = GaitTracker(Config().gait)
    indices = [i for i in range(3 * BUFFER_FRAMES) if i % 7 != 3]  # 600 is no multiple of 7
    for i in indices:
        tracker._index_steps.append(1 if i % 7 != 4 else 2)
        s = _two_feet(i, 30.0, ((0.0, 0.0), (50.0, 0.0)), 20.0)
        tracker.buffer.append(s)
        tracker._update_feet(s)
    assert len(tracker._planted) <= BUFFER_FRAMES
    assert min(tracker._planted) > indices[-1] - BUFFER_FRAMES - 10
