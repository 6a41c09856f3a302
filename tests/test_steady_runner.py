"""The steady treadmill runner of issue 14 (male_side, validation set): events, cadence, verdicts.

The clip is bundled (models/demo/running/, MIT, the runner's consent), so this runs everywhere; its
labels are tests/data/labels (both feet, 34 contacts, 34 toe-offs) and its cadence truth, 168.9 ±
0.5 steps/min, was measured from the pixels without a pose model (male_side.groundtruth.json).
Nothing was tuned on it: it is in the validation set (tests/data/labels/sets.json).

Measured with the product's engine and default models on an AMD EPYC with AVX-512 VNNI (4 Dec
2026), on the portable decode and two seeded ±1-level perturbations of it (`leancam pose --perturb`:
the size of the differences between machines' kernels and decodes): contacts 33/33 x1, 33/33 x0,
33/33 x1 with a median error of 0-1 frame; toe-offs 33/34 x2, 32/34 x1, 33/34 x1; cadence -0.2 %,
-0.1 %, +0.3 %; strides judged 91 %, 84 %, 82 %, all `go`; hip_over_foot sd 0.07, 0.05, 0.05. This
file's own run (the bundled copy, decoded here): 30 of 33 judged, sd 0.067, toe-offs 33/34 x2 with a
median error of 0 frames. Before a treadmill toe-off was placed at the first frame the toe is up
(docs/analysis.md, 4 Dec 2026, third session) toe-offs were 31-32/34 and 76-82 % were judged; before
the belt's speed was measured over whole stances 29-31/34 and 74-75 %; on 3 Dec, before the stance
foot anchored the feet, 30-52 % were judged. The bounds are
the issue's targets where every input measured meets them, and for the events the worst input less
a margin for other machines.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from support.postures import moved_along_x

from appliance import paths
from appliance.analysis.analyzer import AnalysisResult, analyze_frames, median_fps
from appliance.analysis.clip_eval import ClipSpec, evaluate_clip
from appliance.analysis.clip_sets import find_labels, load_index
from appliance.analysis.clips import load_frames
from appliance.analysis.evaluation import Label, read_labels
from appliance.config import PoseConfig
from appliance.pose.types import L_HIP, R_HIP, PoseFrame

CLIP = paths.models_dir() / "demo" / "running" / "male_side.mp4"
TRUTH_SPM = 168.9


@pytest.fixture(scope="module")
def engine_frames() -> list[PoseFrame]:
    # The product's engine and models (the default config), as the issue scores it; the other clip
    # tests run MediaPipe's original models (conftest's pose_frames).
    return load_frames(CLIP, None, PoseConfig())


@pytest.fixture(scope="module")
def labels() -> list[Label]:
    labels_dir = Path(__file__).parent / "data" / "labels"
    source = find_labels(CLIP, labels_dir, load_index(labels_dir))
    assert source is not None, "male_side's labels are found by the clip's sha256"
    return read_labels(source.path)


@pytest.fixture(scope="module")
def steady(engine_frames: list[PoseFrame], labels: list[Label]) -> tuple[AnalysisResult, object]:
    result = analyze_frames(engine_frames)
    report = evaluate_clip(ClipSpec("male_side", str(CLIP), cadence_truth_spm=TRUTH_SPM), result, labels)
    return result, report


def test_contacts_and_toe_offs_of_both_feet(steady) -> None:
    _, report = steady
    by_event = {e.event: e for e in report.events}
    contact, toe_off = by_event["contact"], by_event["toe_off"]
    assert contact.matched >= 31 and contact.extra <= 6, contact
    assert toe_off.matched >= 28 and toe_off.extra <= 8, toe_off
    assert contact.median_error_frames <= 1.0, contact  # the "≤ 1 frame at 30 fps"


def test_cadence_within_three_percent_of_the_pixel_truth(steady) -> None:
    _, report = steady
    assert report.run.cadence_spm == pytest.approx(TRUTH_SPM, rel=0.03), report.run


def test_a_steady_runner_gets_one_verdict_and_no_confident_fragment(steady) -> None:
    result, report = steady
    run = report.run
    assert run.agreement is not None and run.agreement >= 0.8, run
    # The issue asks sd <= 0.10 leg lengths: 0.05-0.07 measured.
    assert run.hip_over_foot_sd_ll is not None and run.hip_over_foot_sd_ll <= 0.10, run
    # A judged stride is a whole stance: contact and toe-off one running stance apart, not a piece
    # of one (male_side's swapped feet used to give 4-frame "strides" judged go). Not yet on every
    # input: on the portable decode on AMD EPYC with AVX-512 VNNI one 0.13 s piece (contact 55, a
    # frame after the same track's toe-off at 54) is judged go, before any earlier stride of this
    # runner could show it as a piece; a "stance under half the runner's recent ones" gate did
    # not catch it and cost sprint strides (docs/analysis.md, "How much the answers move").
    pieces = [(s.step.contact.frame_index, round(s.metrics.stance_s, 2)) for s in result.strides
              if s.verdict in ("go", "no_go") and s.metrics.stance_s < 0.2]
    assert len(pieces) <= 1, pieces


def test_a_steady_runner_gets_sixty_percent_of_strides_judged(steady) -> None:
    """The issue's target for a steady runner: 82-91 % measured on every input (module doc)."""
    _, report = steady
    assert report.run.judged >= 0.6 * report.run.strides, report.run


def test_a_runners_first_strides_are_not_called_a_walk(steady) -> None:
    # Without a start seen, a runner's gait is established from the third stride on; the first two
    # are not judged, but they ran: "walking" told a runner on a treadmill he walked.
    result, _ = steady
    first = [s.reasons for s in result.strides[:2]]
    assert first == [("gait_not_established",)] * 2, first


def _moved_back(frames: list[PoseFrame], leg_lengths: float, hips: bool = True) -> list[PoseFrame]:
    """The runner with head, arms and (``hips``) hips ``leg_lengths`` further back (image-right: he
    faces image-left), the legs in place. With the hips: the feet land further ahead of the pelvis
    and the pelvis trails them through the stance, a runner sitting back. Without: the trunk leans
    back from the hips."""
    return moved_along_x(frames, range(R_HIP + 1 if hips else L_HIP), leg_lengths)


def test_a_runner_sitting_back_gets_no_go_not_an_unsure_on_every_stride(engine_frames: list[PoseFrame]) -> None:
    """Moved 0.3 leg lengths back, the steady runner pushes off with the leg near vertical (median
    ~5° against his 20°) on every stride. Taken as stances cut short, every stride was unsure
    (``no_push_off``); it is the runner's own push-off, and the strides are judged: no_go (the
    feet land 0.6 leg lengths ahead of the pelvis: ``overstride``), 47-72 % of them over five
    keypoint inputs, go on at most 2 of ~31."""
    strides = analyze_frames(_moved_back(engine_frames, 0.3)).strides
    verdicts = [s.verdict for s in strides]
    assert verdicts.count("no_go") >= 0.4 * len(strides), [(s.verdict, s.reasons) for s in strides]
    assert verdicts.count("go") <= 0.1 * len(strides), [(s.verdict, s.reasons) for s in strides]


def test_a_shorter_push_off_than_a_sprinters_is_judged(engine_frames: list[PoseFrame]) -> None:
    """Moved 0.08 leg lengths back, the steady runner pushes off at ~15° (a jogger's short push):
    with the sprint-calibrated 15° alone 5-7 of his 32 strides were ``no_push_off``; a stance cut
    short is one far below the runner's own usual angle, and 1 is left (over three inputs)."""
    strides = analyze_frames(_moved_back(engine_frames, 0.08)).strides
    cut = [(s.step.contact.frame_index, round(s.metrics.push_off_leg_deg, 1)) for s in strides
           if "no_push_off" in s.reasons]
    assert len(cut) <= 2, cut


def test_a_runner_leaning_back_from_the_hips_is_not_go(engine_frames: list[PoseFrame]) -> None:
    """Head, shoulders and arms moved 0.2 leg lengths back (the trunk -14°, leaning back; the foot →
    head line still 11° forward): no forward lean from the hips, ``upright`` on every judged
    stride. Before the trunk was read, every stride was go."""
    strides = analyze_frames(_moved_back(engine_frames, 0.2, hips=False)).strides
    verdicts = [(s.verdict, s.reasons) for s in strides]
    assert sum(v == "no_go" and "upright" in r for v, r in verdicts) >= 0.6 * len(strides), verdicts
    assert not any(v == "go" for v, _ in verdicts), verdicts


def _double_rate(frames: list[PoseFrame]) -> list[PoseFrame]:
    """scripts/double_rate_keypoints.py's frames at twice the clip's rate (the 60 fps check)."""
    spec = importlib.util.spec_from_file_location(
        "double_rate_keypoints", Path(__file__).parent.parent / "scripts" / "double_rate_keypoints.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.doubled(iter(frames), median_fps([f.t_s for f in frames])))


def test_the_steady_runner_at_twice_the_frame_rate(engine_frames: list[PoseFrame], labels: list[Label]) -> None:
    """The held-out treadmill clip of issue 14 is 60 fps: this clip's engine keypoints with a
    mean frame between each two (no camera frame, but the analysis's windows and decisions at 60
    fps). Measured on AMD EPYC with AVX-512 VNNI (4 Dec 2026; docs/analysis.md, "A stance does
    not split on a moving ground"): contacts 33/33 decidable x0, toe-offs 33/34 x2, median errors
    1 frame each, cadence -0.3 %; with 3 px of jitter on the mean frames contacts x1, toe-offs
    x3. Earlier that day toe-offs were 31/34 x3-4. Bounds: those less a margin for other
    machines' keypoints."""
    result = analyze_frames(_double_rate(engine_frames))
    doubled = [Label(2 * lb.frame, lb.event, lb.foot) for lb in labels]
    report = evaluate_clip(ClipSpec("male_side@60", str(CLIP), cadence_truth_spm=TRUTH_SPM), result, doubled)
    by_event = {e.event: e for e in report.events}
    contact, toe_off = by_event["contact"], by_event["toe_off"]
    assert contact.matched >= 31 and contact.extra <= 3, contact
    assert toe_off.matched >= 31 and toe_off.extra <= 5, toe_off
    assert contact.median_error_frames <= 2.0, contact  # 1 frame at 30 fps
    assert report.run.cadence_spm == pytest.approx(TRUTH_SPM, rel=0.03), report.run


def test_a_live_analyzer_keeps_a_bounded_history_and_the_same_verdicts(engine_frames: list[PoseFrame]) -> None:
    """The live appliance runs for days: its analyzer keeps the last ``keep`` strides, events and
    starts (the store has them all), not every stride with its stance's frames (a treadmill runner
    grew the process by ~5 MB a minute). What it decides is the same, stride for stride."""
    import dataclasses

    from appliance.analysis.analyzer import StreamingAnalyzer

    period = engine_frames[1].t_s - engine_frames[0].t_s
    n = len(engine_frames)
    frames = [dataclasses.replace(f, index=f.index + k * n, t_s=f.t_s + k * n * period)
              for k in range(3) for f in engine_frames]  # one runner for 36 s
    full, kept = StreamingAnalyzer(), StreamingAnalyzer(keep=16)
    decided_full, decided_kept = [], []
    for f in frames:
        for analyzer, decided in ((full, decided_full), (kept, decided_kept)):
            update = analyzer.push(f)
            decided += [(s.step.contact.frame_index, s.verdict, s.reasons) for s in update.strides]
    assert len(decided_full) > 80 and decided_kept == decided_full
    assert len(full.strides) == len(decided_full)
    for held in (kept.strides, kept.events, kept.tracker.steps, kept.tracker.events):
        assert len(held) <= 16
