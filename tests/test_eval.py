"""Event matching and scoring (appliance.analysis.evaluation) on hand-made labels, plus the real label files."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance import paths
from appliance.analysis.evaluation import Label, format_table, match, read_labels, score, undecidable_labels
from appliance.analysis.gait.tracker import contact_lag_frames, decision_lag_frames
from appliance.config import GaitConfig
from appliance.errors import BadInputError


def test_match_is_one_to_one_and_minimises_total_error() -> None:
    # Greedy nearest-first would pair 10↔11 and leave 12 unmatched; the optimum pairs both.
    assert sorted(match([10, 12], [11, 14], tolerance_frames=2)) == [(0, 0), (1, 1)]
    assert match([10], [20], tolerance_frames=3) == []  # beyond tolerance: missed + extra
    assert match([], [1, 2], tolerance_frames=3) == []


def test_score_counts_matched_missed_extra_and_errors() -> None:
    labels = [Label(10, "contact", ""), Label(20, "contact", ""), Label(30, "contact", ""), Label(15, "toe_off", "")]
    detections = [("contact", 11), ("contact", 20), ("contact", 45), ("contact", 25), ("toe_off", 15)]
    scores = {s.event: s for s in score(detections, labels, frame_ms=10.0, tolerance_frames=3)}
    c = scores["contact"]
    assert (c.labels, c.matched, c.missed) == (3, 2, 1)
    assert c.extra == 1  # 25 is inside the labelled span (7..33) and unpaired; 45 is outside
    assert c.median_error_frames == pytest.approx(0.5) and c.median_error_ms == pytest.approx(5.0)
    assert c.mean_signed_error_frames == pytest.approx(0.5)
    t = scores["toe_off"]
    assert (t.matched, t.missed, t.extra, t.median_error_frames) == (1, 0, 0, 0.0)
    assert "midstance" not in scores  # no labels of that type: not scored
    table = format_table(list(scores.values()))
    assert "contact" in table and "toe_off" in table


def test_matched_events_are_checked_for_the_foot_they_name() -> None:
    # Only where the label names the foot; a detection naming the other foot is matched all the
    # same (timing), and counted apart as a wrong name.
    labels = [Label(10, "contact", "left"), Label(20, "contact", "right"), Label(30, "contact", ""),
              Label(15, "toe_off", "right")]
    detections = [("contact", 10), ("contact", 21), ("contact", 30), ("toe_off", 15)]
    feet = {("contact", 10): "left", ("contact", 21): "left", ("contact", 30): "right", ("toe_off", 15): "right"}
    scores = {s.event: s for s in score(detections, labels, 10.0, 3, feet=feet)}
    assert (scores["contact"].matched, scores["contact"].feet_labelled, scores["contact"].feet_named) == (3, 2, 1)
    assert (scores["toe_off"].feet_labelled, scores["toe_off"].feet_named) == (1, 1)
    assert score(detections, labels, 10.0, 3)[0].feet_labelled == 0  # no feet given: not scored


def test_slow_motion_errors_are_scaled_to_real_time() -> None:
    labels = [Label(100, "contact", "")]
    # 300 fps capture played at 30 fps: one decoded frame is 3.3 ms of real time, not 33 ms.
    s = score([("contact", 104)], labels, frame_ms=1000 / 300, tolerance_frames=30)[0]
    assert s.median_error_frames == 4 and s.median_error_ms == pytest.approx(13.33, abs=0.01)


def test_decision_lag_follows_the_real_frame_interval() -> None:
    cfg = GaitConfig()
    assert decision_lag_frames(cfg, 1 / 30) == 2  # motion window 1 frame + confirmation 2 frames - 1
    assert decision_lag_frames(cfg, 1 / 300) == 11  # slow motion: the 33 ms window is 10 frames
    # A contact is placed from the stance's first 0.1 s: the same real time at every frame rate.
    assert [contact_lag_frames(cfg, 1 / fps) for fps in (30, 50, 60, 300)] == [3, 5, 6, 30]
    assert contact_lag_frames(GaitConfig(contact_settle_s=0.0), 1 / 30) == 2


def test_a_contact_needs_more_frames_after_it_than_a_toe_off() -> None:
    pose = set(range(51))
    labels = [Label(47, "contact", ""), Label(48, "toe_off", ""), Label(48, "contact", "")]
    assert undecidable_labels(labels, pose, 2, contact_lag_frames=3) == {Label(48, "contact", "")}


def test_labels_the_analysis_cannot_decide_yet_are_not_missed() -> None:
    # Pose in frames 0..50 only (the runner leaves, or the clip ends).
    pose = set(range(51))
    labels = [Label(20, "contact", ""), Label(30, "midstance", ""), Label(40, "toe_off", ""),
              Label(49, "contact", ""), Label(45, "midstance", ""), Label(50, "toe_off", "")]
    na = undecidable_labels(labels, pose, lag_frames=2)
    # 49 and 50 need frames 51/52; midstance 45 is decided with the toe-off at 50; midstance 30 with 40.
    assert na == {Label(49, "contact", ""), Label(50, "toe_off", ""), Label(45, "midstance", "")}
    scores = {s.event: s for s in score([("contact", 21), ("toe_off", 50)], labels, 10.0, 3, na)}
    c = scores["contact"]
    assert (c.matched, c.missed, c.undecidable) == (1, 0, 1)
    t = scores["toe_off"]  # detected anyway (e.g. offline with more frames): it counts as matched
    assert (t.matched, t.missed, t.undecidable) == (1, 1, 0)
    assert "n/a" in format_table(list(scores.values()))
    # Every 10th frame analysed (a 300 fps clip seen at 30 fps): the lag counts analysed frames.
    sparse = set(range(0, 501, 10))
    # 485 is decided from the analysed frames 490 and 500; 495 would need 500 and 510 (there is none).
    assert undecidable_labels([Label(485, "contact", ""), Label(495, "contact", "")], sparse, 2, every=10) == {
        Label(495, "contact", "")}


def test_read_labels_and_the_sprint_first_row_convention(tmp_path: Path) -> None:
    p = tmp_path / "l.csv"
    p.write_text("frame,event,foot\n131,toe_off,\n139,contact,left\n")
    assert read_labels(p) == [Label(131, "toe_off", ""), Label(139, "contact", "left")]
    with_start = read_labels(p, first_row_initiation=True)
    assert with_start[0] == Label(131, "initiation", "")
    assert len(with_start) == 3


@pytest.mark.parametrize("text, message", [
    ("frame,event,foot\nx,contact,\n", "integer frame"),
    ("frame,event,foot\n3,landing,\n", "unknown event 'landing'"),
    ("a,b\n1,2\n", "not a labels file .its header is a,b; expected frame,event,foot"),
    ("a,b\n", "not a labels file"),
    ("", "header is empty"),
    ("frame,event,foot\n", "no labels below the header"),
])
def test_bad_label_files_are_one_line_errors(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(BadInputError, match=message):
        read_labels(p)
    with pytest.raises(BadInputError, match="no such labels file"):
        read_labels(tmp_path / "missing.csv")


def test_the_hand_labels_in_tests_data_are_readable() -> None:
    index = paths.test_data_dir() / "labels" / "index.json"
    if not index.is_file():
        pytest.skip("no hand labels in tests/data/labels")
    import json

    for clip, entry in json.loads(index.read_text()).items():
        labels = read_labels(index.parent / entry["labels"])
        assert labels, clip
        assert {lb.event for lb in labels} <= {"contact", "toe_off", "midstance", "initiation"}
        assert [lb.frame for lb in labels] == sorted(lb.frame for lb in labels), clip


def test_keypoints_at_double_rate_for_a_frame_rate_check(tmp_path: Path) -> None:
    """scripts/double_rate_keypoints.py: frame i becomes 2i, 2i+1 is the mean of i and i+1 (none
    across a frame without a pose), times and labels follow (docs/analysis.md's 60 fps check)."""
    import subprocess
    import sys

    import numpy as np

    from appliance.pose import keypoints_io
    from appliance.pose.types import N_LANDMARKS, PoseFrame

    def pose(x: float) -> np.ndarray:
        lm = np.zeros((N_LANDMARKS, 5), dtype=np.float32)
        lm[:, 0], lm[:, 3], lm[:, 4] = x, 1.0, 1.0
        return lm

    src, out = tmp_path / "kp.jsonl", tmp_path / "kp60.jsonl"
    frames = [PoseFrame(0, 0.0, 64, 64, pose(10.0), 1.0), PoseFrame(1, 1 / 30, 64, 64, pose(20.0), 1.0),
              PoseFrame(2, 2 / 30, 64, 64, None, 0.0), PoseFrame(3, 3 / 30, 64, 64, pose(40.0), 1.0)]
    with src.open("w") as fh:
        keypoints_io.write(fh, frames, {"video": {"fps": 30.0, "frames": 4}})
    labels_in, labels_out = tmp_path / "l.csv", tmp_path / "l60.csv"
    labels_in.write_text("frame,event,foot\n1,contact,left\n3,toe_off,left\n")
    script = Path(__file__).parent.parent / "scripts" / "double_rate_keypoints.py"
    subprocess.run([sys.executable, str(script), str(src), str(out), "--labels", str(labels_in), str(labels_out)],
                   check=True, capture_output=True)
    header, got = keypoints_io.read(out)
    got = list(got)
    assert header["video"] == {"fps": 60.0, "frames": 8}
    assert [f.index for f in got] == [0, 1, 2, 4, 6]
    assert [f.t_s * 60 for f in got] == pytest.approx([0, 1, 2, 4, 6], abs=1e-3)
    assert float(got[1].landmarks[0, 0]) == 15.0 and got[3].landmarks is None
    assert [(lb.frame, lb.event) for lb in read_labels(labels_out)] == [(2, "contact"), (6, "toe_off")]
