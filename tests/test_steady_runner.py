"""The steady treadmill runner of issue 14 (male_side, validation set): events, cadence, verdicts.

The clip is bundled (models/demo/running/, MIT, the runner's consent), so this runs everywhere; its
labels are tests/data/labels (both feet, 34 contacts, 34 toe-offs) and its cadence truth, 168.9 ±
0.5 steps/min, was measured from the pixels without a pose model (male_side.groundtruth.json).
Nothing was tuned on it: it is in the validation set (tests/data/labels/sets.json).

Measured with the product's engine and default models on x86 (3 Dec 2026). First on two decodes
of the same file that differ by 1 level in 79 % of the RGB values (FFmpeg's x86 SIMD conversion,
then the portable one the product uses now, appliance/sources/video_file.py), on one machine:
contacts 34/34 with 0 extra | 33/33 with 4 extra, toe-offs 31/34 with 2 extra | 29/34 with 9,
cadence 169.3 | 168.9 (from the pelvis's bounce once 2 s are seen), strides judged 41 % | 11 %,
hip_over_foot sd 0.04 | 0.04. Then on an AMD EPYC with AVX-512 VNNI, portable decode and two
seeded ±1-level perturbations of it (`leancam pose --perturb`): contacts 34/34 x1, 33/33 x1,
32/34 x2; toe-offs 24/34 x10, 30/34 x4, 27/34 x8 (the feet tracks swap on the belt and toe-offs
come 3-5 frames off); judged 30 %, 45 %, 38 %, all of one verdict; hip_over_foot sd 0.10, 0.06,
0.10. The bounds cover every input measured: that much do this runner's events and verdicts move
with imperceptible pixel changes (docs/analysis.md, "How much the answers move"). The issue's
targets that are not met on every input (60 % judged, sd ≤ 0.10) are named where they are bounded.
The cadence bound is the issue's ±3 %.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance import paths
from appliance.analysis.analyzer import AnalysisResult, analyze_frames
from appliance.analysis.clip_eval import ClipSpec, evaluate_clip
from appliance.analysis.clip_sets import find_labels, load_index
from appliance.analysis.clips import load_frames
from appliance.analysis.evaluation import read_labels
from appliance.config import PoseConfig

CLIP = paths.models_dir() / "demo" / "running" / "male_side.mp4"
TRUTH_SPM = 168.9


@pytest.fixture(scope="module")
def steady() -> tuple[AnalysisResult, object]:
    labels_dir = Path(__file__).parent / "data" / "labels"
    source = find_labels(CLIP, labels_dir, load_index(labels_dir))
    assert source is not None, "male_side's labels are found by the clip's sha256"
    # The product's engine and models (the default config), as the issue scores it; the other clip
    # tests run MediaPipe's original models (conftest's pose_frames).
    result = analyze_frames(load_frames(CLIP, None, PoseConfig()))
    report = evaluate_clip(ClipSpec("male_side", str(CLIP), cadence_truth_spm=TRUTH_SPM), result,
                           read_labels(source.path))
    return result, report


def test_contacts_and_toe_offs_of_both_feet(steady) -> None:
    _, report = steady
    by_event = {e.event: e for e in report.events}
    contact, toe_off = by_event["contact"], by_event["toe_off"]
    assert contact.matched >= 31 and contact.extra <= 6, contact
    assert toe_off.matched >= 24 and toe_off.extra <= 12, toe_off
    assert contact.median_error_frames <= 1.0, contact  # the "≤ 1 frame at 30 fps"


def test_cadence_within_three_percent_of_the_pixel_truth(steady) -> None:
    _, report = steady
    assert report.run.cadence_spm == pytest.approx(TRUTH_SPM, rel=0.03), report.run


def test_a_steady_runner_gets_one_verdict_and_no_confident_fragment(steady) -> None:
    result, report = steady
    run = report.run
    assert run.judged >= 0.08 * run.strides, run  # 11-45 % measured; the issue asks 60 % (not met)
    assert run.agreement is not None and run.agreement >= 0.8, run
    # The issue asks sd <= 0.10 leg lengths: 0.04-0.104 measured (0.104 on the product's own decode here).
    assert run.hip_over_foot_sd_ll is not None and run.hip_over_foot_sd_ll <= 0.12, run
    # A judged stride is a whole stance: contact and toe-off one running stance apart, not a piece
    # of one (male_side's swapped feet used to give 4-frame "strides" judged go). Not yet on every
    # input: on the portable decode on AMD EPYC with AVX-512 VNNI one 0.10 s piece (contact 55, a
    # frame after the same track's toe-off at 54) is judged go, before any earlier stride of this
    # runner could show it as a piece; a "stance under half the runner's recent ones" gate did
    # not catch it and cost sprint strides (docs/analysis.md, "How much the answers move").
    pieces = [(s.step.contact.frame_index, round(s.metrics.stance_s, 2)) for s in result.strides
              if s.verdict in ("go", "no_go") and s.metrics.stance_s < 0.2]
    assert len(pieces) <= 1, pieces


@pytest.mark.xfail(strict=True, reason=(
    "measured 4 Dec 2026 with the stance foot anchoring the feet: 41-53 % of 32-34 strides judged on the three "
    "inputs of docs/analysis.md (7-stride verdict window), never 60 %. Unsure: stances_overlap 4-9 (one foot's "
    "toe-off found 3-5 frames late, so the next landing falls inside its stance), near_limit_overstride 2-6 "
    "(the runner's overstride, median 0.28-0.36 leg lengths over the window, sits within one standard error, "
    "0.04-0.05, of the 0.35 limit: the contact moves 0.09 leg lengths per frame of timing on the belt), "
    "walking 3-4, no_push_off 2-3"))
def test_a_steady_runner_gets_sixty_percent_of_strides_judged(steady) -> None:
    """The issue's target for a steady runner; today's share is bounded by the test above."""
    _, report = steady
    assert report.run.judged >= 0.6 * report.run.strides, report.run
