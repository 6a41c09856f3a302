"""``leancam eval`` over many clips: one-foot scoring, initiation outcomes, pooling, the sets file.

Synthetic label files for the rules; the real sprint clips (our engine's keypoints, cached per
session by conftest) for the command end to end — skipped when ../shared/data is absent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from appliance import paths
from appliance.analysis.clip_eval import (
    ClipReport,
    ClipSpec,
    RunScore,
    cadence_from_contacts,
    format_clips,
    format_pooled,
    pool,
    score_initiation,
)
from appliance.analysis.clip_sets import (
    LabelSource,
    clips_from_paths,
    find_labels,
    load_set,
    resolve_conventions,
    sha256_of,
)
from appliance.analysis.evaluation import EventScore, Label, one_foot_extras, score
from appliance.cli import main
from appliance.errors import BadInputError
from appliance.pose import keypoints_io

# One foot followed (sprint authors' style): clearance 100, landing 110, take-off 114, landing 124, take-off 128.
ONE_FOOT = [Label(100, "toe_off", ""), Label(110, "contact", ""), Label(114, "toe_off", ""),
            Label(124, "contact", ""), Label(128, "toe_off", "")]


def test_one_foot_labels_do_not_count_the_other_foots_step_as_extra() -> None:
    # Detected: every labelled event, plus the other foot's step in each swing (contact 104 / toe-off 107,
    # contact 118 / toe-off 121), a second contact in the swing 114..124 (a fragment) and a contact inside
    # the labelled stance 110..114 (a split stance).
    det = [("toe_off", 100), ("contact", 104), ("toe_off", 107), ("contact", 110), ("contact", 112),
           ("toe_off", 114), ("contact", 118), ("contact", 120), ("toe_off", 121), ("contact", 124), ("toe_off", 128)]
    scores = {s.event: s for s in score(det, ONE_FOOT, 33.3, 1, one_foot=True)}
    c, t = scores["contact"], scores["toe_off"]
    # 112 (in the stance) and 120 (second in a swing) are extra; 104 lies before the first contact label
    # (outside the scored span, like detections after the labeller stopped).
    assert (c.matched, c.extra, c.other_foot) == (2, 2, 1)
    assert (t.matched, t.extra, t.other_foot) == (3, 0, 2)
    # Read as two-footed labels, every unpaired detection is extra.
    two = {s.event: s for s in score(det, ONE_FOOT, 33.3, 1)}
    assert (two["contact"].extra, two["contact"].other_foot) == (3, 0)
    assert two["toe_off"].extra == 2


def test_one_foot_extras_rule_directly() -> None:
    assert one_foot_extras([], ONE_FOOT) == (0, 0)
    assert one_foot_extras([105], ONE_FOOT) == (0, 1)
    assert one_foot_extras([105, 106], ONE_FOOT) == (1, 1)  # two in one swing
    assert one_foot_extras([111], ONE_FOOT) == (1, 0)  # strictly inside the stance 110..114
    assert one_foot_extras([110, 114], ONE_FOOT) == (0, 2)  # on the stance's edges: in the swings either side


@pytest.mark.parametrize("detected, outcome, err", [
    ([50], "hit", 0.0), ([52], "hit", 2.0), ([48], "hit", -2.0), ([47], "early", -3.0), ([20], "early", -30.0),
    ([53], "late", 3.0), ([], "miss", None),
])
def test_initiation_outcomes(detected: list[int], outcome: str, err: float | None) -> None:
    labels = [Label(50, "initiation", ""), Label(50, "toe_off", "")]
    s = score_initiation(detected, labels, tolerance_frames=2.0)
    assert (s.outcome, s.error_frames, s.labelled_frame) == (outcome, err, 50)


def test_initiation_on_a_clip_without_a_start_is_a_false_start() -> None:
    running = [Label(10, "contact", "left")]
    assert score_initiation([30], running, 2.0).outcome == "false_start"
    assert score_initiation([], running, 2.0).outcome == "none"
    # Every 6th frame analysed: the error is counted in analysed frames (6 clip frames = 1 frame).
    s = score_initiation([62], [Label(50, "initiation", "")], 2.0, every=6)
    assert (s.outcome, s.error_frames) == ("hit", 2.0)


def test_cadence_from_two_footed_contacts() -> None:
    # Contacts 102 frames apart at 300 fps: 0.34 s a step, 176.5 steps/min (the treadmill clip's labels).
    labels = [Label(f, "contact", "") for f in (26, 124, 227, 329, 432)]
    assert cadence_from_contacts(labels, 1000 / 300) == pytest.approx(60 / (102.0 / 300), rel=0.02)
    assert cadence_from_contacts(labels[:2], 1000 / 300) is None


def _report(name: str, contact: EventScore, run: RunScore, every: int = 1) -> ClipReport:
    return ClipReport(ClipSpec(name, name, every=every), "ok", 30.0 / every, 33.3, 3, (contact,), None, run)


def test_pooling_sums_counts_and_takes_the_median_of_all_errors() -> None:
    a = EventScore("contact", 4, 5, 4, 0, 1, 0, 1.0, 1.0, 33.3, 33.3, 0.0, 0, (1.0, -1.0, 0.0, 2.0))
    b = EventScore("contact", 3, 3, 2, 0, 0, 1, 6.0, 6.0, 20.0, 20.0, 6.0, 0, (6.0, 6.0))  # every 6: 1 analysed frame
    ra = RunScore(10, 8, 6, 2, 0.75, 0.05, 170.0, 168.9)
    rb = RunScore(5, 2, 2, 0, 1.0, None, 150.0, 176.0)
    p = pool([_report("a", a, ra), _report("b", b, rb, every=6)])
    e = next(x for x in p.events if x.event == "contact")
    assert (e.labels, e.decidable, e.matched, e.missed, e.undecidable, e.extra) == (7, 6, 6, 0, 1, 1)
    assert e.recall == pytest.approx(1.0) and e.extra_share == pytest.approx(1 / 6)
    # |errors| in analysed frames: 1, 1, 0, 2 and 1, 1 → median 1.
    assert e.median_abs_error_frames == pytest.approx(1.0)
    assert (p.strides, p.judged, p.agreeing) == (15, 10, 8)
    assert (p.cadence_within_3pct, p.cadence_clips) == (1, 2)  # 170 vs 168.9 in; 150 vs 176 out
    text = format_pooled(p)
    assert "contact" in text and "10/15 strides judged" in text and "1 of 2 clips" in text
    assert "a " in format_clips([_report("a", a, ra)])


def test_sets_file_fixes_the_split_by_clip() -> None:
    sets = paths.test_data_dir() / "labels" / "sets.json"
    data = Path("/data")
    tuning = {s.name for s in load_set(sets, "tuning", data)}
    validation = {s.name for s in load_set(sets, "validation", data)}
    assert tuning == {"b2", "b4", "b6", "b8", "a2", "a4", "a6", "a8", "a11", "a14", "treadmill_slowmo@50fps"}
    assert validation == {"b3", "b5", "b7", "a3", "a5", "a7", "a10", "a13", "a15", "male_side",
                          "treadmill_slowmo@30fps", "track_run_pan"}
    # No clip in both, except the treadmill clip seen at two rates (documented in sets.json).
    paths_t = {s.path for s in load_set(sets, "tuning", data)}
    paths_v = {s.path for s in load_set(sets, "validation", data)}
    assert paths_t & paths_v == {"/data/treadmill_slowmo.mp4"}
    by_name = {s.name: s for s in load_set(sets, "validation", data)}
    assert by_name["male_side"].cadence_truth_spm == 168.9
    slow = by_name["treadmill_slowmo@30fps"]
    assert (slow.every, slow.capture_fps, slow.cadence_from_labels) == (10, 300.0, True)
    assert by_name["b3"].one_foot is True and by_name["a3"].one_foot is None


def test_bad_sets_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such sets file"):
        load_set(tmp_path / "none.json", "tuning", tmp_path)
    f = tmp_path / "sets.json"
    f.write_text(json.dumps({"sets": {"tuning": {"clips": [{"path": "x.mp4", "evry": 2}]}}}))
    with pytest.raises(BadInputError, match="unknown key 'evry'"):
        load_set(f, "tuning", tmp_path)
    with pytest.raises(BadInputError, match=r"no set 'tunning' \(sets: tuning\)"):
        load_set(f, "tunning", tmp_path)
    f.write_text("{")
    with pytest.raises(BadInputError, match="not a sets file"):
        load_set(f, "tuning", tmp_path)


def test_labels_found_by_sha256_first_then_beside_the_clip(tmp_path: Path) -> None:
    clip = tmp_path / "run.mp4"
    clip.write_bytes(b"not really a video")
    labels_dir = tmp_path / "labels"
    labels_dir.mkdir()
    assert find_labels(clip, labels_dir) is None
    (tmp_path / "run.csv").write_text("frame,event,foot\n5,toe_off,\n")
    beside = find_labels(clip, labels_dir)
    assert beside == LabelSource(tmp_path / "run.csv", True, True, "beside")
    sha = sha256_of(clip)
    (labels_dir / f"{sha}.csv").write_text("frame,event,foot\n3,contact,left\n")
    (labels_dir / "index.json").write_text(json.dumps({"renamed.mp4": {"sha256": sha, "labels": f"{sha}.csv"}}))
    ours = find_labels(clip, labels_dir)
    assert ours == LabelSource(labels_dir / f"{sha}.csv", False, False, "index")
    # Conventions belong to the label file: the index entry's win over the set's, the set's apply beside.
    spec = ClipSpec("run", str(clip), one_foot=True, first_row_initiation=True)
    assert resolve_conventions(spec, ours).one_foot is False
    assert resolve_conventions(ClipSpec("run", str(clip), one_foot=False), beside).one_foot is False
    assert resolve_conventions(ClipSpec("run", str(clip)), beside).one_foot is True


def test_folders_list_their_clips_in_natural_order(tmp_path: Path) -> None:
    for n in ("a10", "a2", "a3"):
        (tmp_path / f"{n}.mp4").write_bytes(b"")
    (tmp_path / "a2.csv").write_text("")
    assert [p.stem for p in clips_from_paths([tmp_path])] == ["a2", "a3", "a10"]
    with pytest.raises(BadInputError, match="no such file or folder"):
        clips_from_paths([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInputError, match="no video files"):
        clips_from_paths([empty])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def kp_dir(shared_data: Path, pose_frames, tmp_path_factory) -> Path:
    """Our engine's keypoints of sprint b2 and b4 as ``<stem>.jsonl`` (what --keypoints-dir reads)."""
    out = tmp_path_factory.mktemp("kpdir")
    for name in ("b2", "b4"):
        video = shared_data / "sprint_starts" / f"{name}.mp4"
        with (out / f"{name}.jsonl").open("w") as fh:
            keypoints_io.write(fh, pose_frames(video), {"source": video.name})
    return out


def test_eval_many_clips_pools_them(kp_dir: Path, shared_data: Path, capsys) -> None:
    b2, b4 = (str(shared_data / "sprint_starts" / f"{n}.mp4") for n in ("b2", "b4"))
    code, out, err = run(capsys, "eval", b2, b4, "--keypoints-dir", str(kp_dir), "--json")
    assert code == 0, err
    doc = json.loads(out)
    clips = {c["name"]: c for c in doc["clips"]}
    assert set(clips) == {"b2", "b4"}
    for c in clips.values():
        assert c["status"] == "ok" and c["one_foot"] is True  # the authors' CSV beside the clip
        assert c["initiation"]["outcome"] == "hit"
        assert c["events"]["contact"]["other_foot"] >= 1  # the other foot's steps were seen, not extra
    pooled = doc["pooled"]["events"]["contact"]
    assert pooled["labels"] == sum(c["events"]["contact"]["labels"] for c in clips.values())
    assert pooled["matched"] == sum(c["events"]["contact"]["matched"] for c in clips.values())
    assert pooled["extra"] <= 2  # measured: 1 (b2: a contact inside a labelled stance)
    assert doc["pooled"]["initiation"]["hit"] == 2
    code, text, _ = run(capsys, "eval", b2, b4, "--keypoints-dir", str(kp_dir))
    assert code == 0 and "pooled over 2 clips" in text and "initiation: hit 2" in text


def test_eval_extrema_method_scores_the_same_clips(kp_dir: Path, shared_data: Path, capsys) -> None:
    """``--events extrema``: contacts / toe-offs from foot-vs-pelvis extrema on the same tracks; the
    initiation stays the tracker's. Measured on b2 + b4 (our engine, x86): contacts 6/7, toe-offs
    8/8, no extra; the tracker: 7/7 and 8/8."""
    b2, b4 = (str(shared_data / "sprint_starts" / f"{n}.mp4") for n in ("b2", "b4"))
    code, out, err = run(capsys, "eval", b2, b4, "--keypoints-dir", str(kp_dir), "--json", "--events", "extrema")
    assert code == 0, err
    doc = json.loads(out)
    pooled = doc["pooled"]["events"]
    assert pooled["contact"]["matched"] >= 5 and pooled["toe_off"]["matched"] >= 6, pooled
    assert pooled["contact"]["extra"] <= 2 and pooled["toe_off"]["extra"] <= 2, pooled
    assert doc["pooled"]["initiation"]["hit"] == 2


def test_eval_drop_every_scores_the_analysis_of_fewer_frames(kp_dir: Path, shared_data: Path, capsys) -> None:
    """``--drop-every 10``: the analysis sees the gaps an appliance falling behind its camera leaves
    (measured: both starts within 2 frames, as with every frame); the labels next to a gap are no
    less decidable (the same n/a count as without drops)."""
    b2, b4 = (str(shared_data / "sprint_starts" / f"{n}.mp4") for n in ("b2", "b4"))
    docs = []
    for extra in ((), ("--drop-every", "10")):
        code, out, err = run(capsys, "eval", b2, b4, "--keypoints-dir", str(kp_dir), "--json", *extra)
        assert code == 0, err
        docs.append(json.loads(out))
    assert [d["drop_every"] for d in docs] == [0, 10]
    full, dropped = (d["pooled"] for d in docs)
    assert dropped["initiation"]["hit"] == 2
    for kind in ("contact", "toe_off"):
        assert dropped["events"][kind]["n/a"] == full["events"][kind]["n/a"]
    assert docs[0]["clips"] != docs[1]["clips"]  # frames were dropped: the matched errors moved
    code, _, err = run(capsys, "eval", b2, b4, "--keypoints-dir", str(kp_dir), "--drop-every", "1")
    assert code == 2 and "--drop-every must be 2 or more" in err and err.count("\n") == 1


def test_eval_set_reports_clips_without_labels_and_missing_keypoints(kp_dir: Path, shared_data: Path, tmp_path: Path,
                                                                     capsys) -> None:
    sets = tmp_path / "sets.json"
    sets.write_text(json.dumps({"sets": {"mini": {"clips": [
        {"path": "sprint_starts/b4.mp4", "one_foot": True, "first_row_initiation": True},
        {"path": "sprint_starts_rtl/a14.mp4"},  # no labels: it shows no start and no running step
        {"path": "sprint_starts/b5.mp4"},  # no keypoints in the folder
    ]}}}))
    kp = tmp_path / "kp"
    shutil.copytree(kp_dir, kp)
    shutil.copy(kp / "b2.jsonl", kp / "a14.jsonl")  # any keypoints: only the "no labels" status is checked
    code, out, _ = run(capsys, "eval", "--set", "mini", "--sets", str(sets), "--data-dir", str(shared_data),
                       "--keypoints-dir", str(kp))
    assert code == 2  # a clip could not be scored
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert "no labels" in lines["a14"] and "fired 1" in lines["a14"]  # b2's keypoints: one start
    assert "no keypoints for this clip" in lines["b5"]
    assert "hit" in lines["b4"]
    assert "pooled over 2 clips (1 with labels)" in out


def test_eval_argument_errors_are_one_line(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "eval")
    assert code == 2 and "name clips" in err and err.count("\n") == 1
    code, _, err = run(capsys, "eval", "--set", "nope", "--sets", str(paths.test_data_dir() / "labels" / "sets.json"))
    assert code == 2 and "no set 'nope'" in err
    code, _, err = run(capsys, "eval", str(tmp_path / "missing.mp4"))
    assert code == 2 and "no such file or folder" in err
    code, _, err = run(capsys, "eval", str(tmp_path), "--keypoints", str(tmp_path / "k.jsonl"))
    assert code == 2 and "--keypoints is for one clip" in err


def test_every_clip_of_the_split_exists_in_shared_data(shared_data: Path) -> None:
    sets = paths.test_data_dir() / "labels" / "sets.json"
    for name in ("tuning", "validation"):
        for spec in load_set(sets, name, shared_data):
            assert Path(spec.path).is_file(), f"{name}: {spec.path}"
            # Labels exist (beside, or by sha256) for the sprint b clips and the two hand-labelled clips.
            source = find_labels(Path(spec.path), paths.test_data_dir() / "labels")
            if spec.name.startswith("b") or spec.name.startswith(("treadmill_slowmo", "track_run_pan")):
                assert source is not None, spec.name
