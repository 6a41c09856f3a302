"""CMU motion capture as a test of initiation (issue 14, step 4): appliance.analysis.mocap.

The mocap standing starts are projected side-on to BlazePose's 33 keypoints with seeded jitter,
at 30, 50 and 60 fps, in both directions, and fed through the real analyzer. Targets are the
issue's "done when": 143_03 and 104_06 initiation within 2 frames of the push foot's toe-off, lean
at initiation within 3° of the mocap's own, 09_01 (already running) fires no initiation.

Where today's analysis misses a target the test stays as strict as the target and is marked
``xfail(strict=True)`` with the measured figures (``scripts/mocap_check.py`` prints them all): when
the event detector improves, the xfail turns into a failure that says "remove me".
Skipped when ../shared/data (the mocap CSVs are there, not in the repository) is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.analysis import mocap
from appliance.analysis.gait.body import body_points

# Twenty jitter seeds: the standing start 104_06 fired 3-4 frames late on 8 of 40 seeds × directions
# at 60 fps (left to right 4, 9, 11, 12, 13; right to left 6, 10, 17) and on one at 50 fps (13),
# none of which seeds 0-2 had shown (StartDetection._plant_ended).
SEEDS = tuple(range(20))
DIRECTIONS = (False, True)  # mirror: runner left → right, right → left


@pytest.fixture(scope="module")
def trials(shared_data: Path) -> dict[str, mocap.Mocap]:
    folder = shared_data / "mocap_cmu"
    if not folder.is_dir():
        pytest.skip(f"no mocap trials at {folder}")
    return {n: mocap.parse_sagittal_csv((folder / f"{n}_sagittal_xy_m.csv").read_text(), n)
            for n in ("143_03", "104_06", "09_01")}


_CHECKS: dict[tuple[str, float], list[mocap.MocapCheck]] = {}


def checks(m: mocap.Mocap, fps: float) -> list[mocap.MocapCheck]:
    """Every direction × seed through the analyzer, once per trial and rate (timing and lean tests share them)."""
    key = (m.name, fps)
    if key not in _CHECKS:
        _CHECKS[key] = [mocap.check(m, fps, mirror, mocap.Jitter(seed=s)) for mirror in DIRECTIONS for s in SEEDS]
    return _CHECKS[key]


# --------------------------------------------------------------------------- the truth itself


def test_truth_matches_the_readme_event_times(trials) -> None:
    """README (foot height and speed, ±1 frame at 120 fps): 143_03 right toe-off ≈1.14 s, left (push)
    ≈1.38 s; 104_06 first (left) step ≈0.68 s. Our rule (toe tip > 1 m/s for 25 ms) must agree."""
    t = mocap.start_truth(trials["143_03"])
    assert t is not None
    assert (t.first_step_foot, t.push_foot) == ("Right", "Left")
    assert t.first_step_toe_off_t_s == pytest.approx(1.14, abs=2 / 120)
    assert t.push_toe_off_t_s == pytest.approx(1.38, abs=2 / 120)
    j = mocap.start_truth(trials["104_06"])
    assert j is not None and j.first_step_foot == "Left"
    assert j.first_step_toe_off_t_s == pytest.approx(0.68, abs=3 / 120)
    # The push foot of 104_06 is the right one, leaving at ~1.06 s (the README gives only the first step).
    assert j.push_foot == "Right" and 1.0 < j.push_toe_off_t_s < 1.1
    assert mocap.start_truth(trials["09_01"]) is None  # running from the first frame: no start
    for truth in (t, j):  # a start leans forward, far less than a sprinter leaving the blocks
        assert 10.0 < truth.lean_deg < 35.0


def test_projection_geometry(trials) -> None:
    m = trials["143_03"]
    frames = mocap.project(m, 30.0, jitter=mocap.NO_JITTER)
    assert [f.index for f in frames[:3]] == [0, 1, 2]
    assert frames[1].t_s == pytest.approx(1 / 30) and len(frames) == int(m.t_s[-1] * 30) + 1
    lm = frames[0].landmarks
    assert lm is not None
    for heel, ankle, toe in ((29, 27, 31), (30, 28, 32)):
        # Standing: heel behind the ankle (runner goes image-right), below it, and level with the toe.
        assert lm[heel, 0] < lm[ankle, 0] < lm[toe, 0]
        assert lm[heel, 1] > lm[ankle, 1]
        assert abs(lm[heel, 1] - lm[toe, 1]) < 0.05 * 110
    legs = [body_points(f.landmarks, f.width_px, f.height_px).leg_length_px for f in frames]
    assert float(np.median(legs)) == pytest.approx(110.0, rel=0.02)  # Camera.leg_px
    xs = np.array([f.landmarks[:, 0] for f in frames])
    assert xs.min() > 0 and xs.max() < 1280  # the whole run is in the picture
    # Mirrored: x flipped about the image centre, y unchanged.
    mirrored = mocap.project(m, 30.0, jitter=mocap.NO_JITTER, mirror=True)
    assert np.allclose(mirrored[40].landmarks[:, 0], 1280 - frames[40].landmarks[:, 0], atol=1e-3)
    assert np.allclose(mirrored[40].landmarks[:, 1], frames[40].landmarks[:, 1], atol=1e-3)


def test_heel_rises_with_the_foot_at_push_off(trials) -> None:
    """The heel is fixed to the foot: as the push foot rolls onto its toes, the heel leaves the ground."""
    m = trials["143_03"]
    heel = mocap.heel(m, "Left")
    rest = float(np.median(heel[m.t_s < 0.25, 1]))
    i = int(np.searchsorted(m.t_s, 1.36))  # just before the left toe-off
    assert heel[i, 1] - rest > 0.05  # metres
    assert heel[i, 0] < m.joints["LeftFoot"][i, 0]  # still behind the ankle


def test_jitter_is_seeded_and_sized_as_documented(trials) -> None:
    m = trials["09_01"]
    a = mocap.project(m, 50.0, jitter=mocap.Jitter(seed=3))
    b = mocap.project(m, 50.0, jitter=mocap.Jitter(seed=3))
    c = mocap.project(m, 50.0, jitter=mocap.Jitter(seed=4))
    exact = mocap.project(m, 50.0, jitter=mocap.NO_JITTER)
    assert all(np.array_equal(x.landmarks, y.landmarks) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.landmarks, y.landmarks) for x, y in zip(a, c, strict=True))
    noise = np.array([x.landmarks[:, :2] - e.landmarks[:, :2] for x, e in zip(a, exact, strict=True)])
    vis = np.array([x.landmarks[:, 3] for x in a])
    kept = vis >= 0.5
    torso = noise[:, [11, 12, 23, 24], :][kept[:, [11, 12, 23, 24]]]
    feet = noise[:, 27:33, :][kept[:, 27:33]]
    assert float(np.std(torso)) == pytest.approx(0.008 * 110, rel=0.25)
    assert float(np.std(feet)) == pytest.approx(0.012 * 110, rel=0.25)
    assert 0.01 < float(np.mean(~kept[:, [11, 23, 25, 27, 29, 31]])) < 0.04  # ~2 % drops on the near side


# --------------------------------------------------------------------------- the done-when targets


@pytest.mark.parametrize("fps", [30.0, 50.0, 60.0])
def test_standing_start_143_03_initiation_within_two_frames(trials, fps: float) -> None:
    results = checks(trials["143_03"], fps)
    assert all(c.initiations == 1 for c in results), [c.initiations for c in results]
    errors = [c.error_frames for c in results]
    assert all(e is not None and abs(e) <= 2.0 for e in errors), errors


@pytest.mark.parametrize("fps", [30.0, 50.0, 60.0])
def test_standing_start_143_03_lean_within_three_degrees(trials, fps: float) -> None:
    """Measured 4 Dec 2026 (seeds 0-19, both directions): |error| at most 2.5° at 30 fps, 2.1° at 50,
    2.2° at 60, read over the push foot's last two frames (its toe-off frame included)."""
    results = checks(trials["143_03"], fps)
    errors = [c.lean_error_deg for c in results]
    assert all(e is not None and abs(e) <= 3.0 for e in errors), errors


@pytest.mark.parametrize("fps", [30.0, 50.0, 60.0])
def test_lean_start_104_06_initiation_within_two_frames(trials, fps: float) -> None:
    results = checks(trials["104_06"], fps)
    errors = [c.error_frames for c in results]
    assert all(e is not None and abs(e) <= 2.0 for e in errors), errors


@pytest.mark.parametrize("fps", [30.0, 50.0, 60.0])
def test_lean_start_104_06_lean_within_three_degrees(trials, fps: float) -> None:
    """Measured 4 Dec 2026 (seeds 0-19, both directions): |error| at most 2.0° at 30 fps, 1.6° at 50,
    1.3° at 60. Its still stance lasts ~0.36 s: found at every rate since still_min_s is 0.4 s
    (at 50 fps, seed 0, it was not with 0.5 s)."""
    results = checks(trials["104_06"], fps)
    errors = [c.lean_error_deg for c in results]
    assert all(e is not None and abs(e) <= 3.0 for e in errors), errors


@pytest.mark.parametrize("fps", [30.0, 50.0, 60.0])
def test_steady_run_09_01_fires_no_initiation(trials, fps: float) -> None:
    results = checks(trials["09_01"], fps)
    assert all(c.initiations == 0 for c in results), [c.initiations for c in results]


def test_a_standing_start_without_noise_is_found_in_both_directions(trials) -> None:
    """The exact projection: the analysis fires once, the same frame either way round."""
    m = trials["143_03"]
    ltr = mocap.check(m, 30.0, False, mocap.NO_JITTER)
    rtl = mocap.check(m, 30.0, True, mocap.NO_JITTER)
    assert ltr.initiations == rtl.initiations == 1
    assert ltr.initiation_t_s == rtl.initiation_t_s
    assert ltr.lean_deg is not None and rtl.lean_deg is not None
    assert ltr.lean_deg == pytest.approx(rtl.lean_deg, abs=0.5)


@pytest.mark.parametrize("name", ["143_03", "09_01"])
def test_every_nth_frame_of_a_fast_clip_is_analysed_as_a_slower_camera(trials, name: str) -> None:
    """`leancam eval --every N` keeps the source frame indices: the analysis must count frames in
    analysed frames, so the same frames numbered N apart give the same events at N times the index.
    (It did not: "the frame before" was index − 1, absent from such a view, and with it the check
    for a landing on the spot the other foot just left, and the toe-off's placement, were off.)"""
    from dataclasses import replace

    from appliance.analysis.gait.tracker import GaitTracker

    frames = mocap.project(trials[name], 50.0, jitter=mocap.Jitter(seed=1))

    def events(step: int) -> list[tuple[str, int, float]]:
        tracker = GaitTracker()
        for f in frames:
            tracker.push(replace(f, index=f.index * step))
        return [(e.kind, e.frame_index, round(e.t_s, 6)) for e in tracker.events]

    one, six = events(1), events(6)
    assert any(kind in ("initiation", "toe_off") for kind, _, _ in one)
    assert six == [(kind, index * 6, t) for kind, index, t in one]


def test_landings_before_the_set_position_are_no_steps_of_the_run(trials) -> None:
    """Feet put down while walking in or kneeling into the blocks are real landings, but no steps
    of the run that follows the set position: the run's cadence counts from its own landings
    (sprint a3 on one input: a landing 0.8 s before the start made its first strides read 92-120
    steps/min, and one of them `walking`)."""
    from appliance.analysis.gait.tracker import GaitTracker

    frames = mocap.project(trials["143_03"], 30.0, jitter=mocap.Jitter(seed=1))

    def steps(landed_before_s: list[float]) -> list[tuple[float | None, float | None]]:
        tracker = GaitTracker()
        tracker._fs[0].recent_contacts_t_s.extend(landed_before_s)
        for f in frames:
            tracker.push(f)
        assert tracker.initiations
        return [(s.previous_contact_t_s, s.step_s) for s in tracker.steps]

    clean = steps([])
    assert clean
    assert steps([0.0, 0.3]) == clean  # before: 0.267 s steps (225 steps/min) from the first landing on
