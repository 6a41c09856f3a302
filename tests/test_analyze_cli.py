"""``leancam analyze`` and ``leancam eval`` end to end: the JSON contract, CSV, table, errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.pose import keypoints_io
from appliance.pose.types import PoseFrame

STRIDE_KEYS = {"foot", "contact_t_s", "midstance_t_s", "toe_off_t_s", "hip_over_foot", "lean_deg", "pelvis_offset",
               "trunk_deg", "cadence_spm", "overstride", "speed_ll_s", "verdict", "reasons"}


@pytest.fixture(scope="module")
def sprint(shared_data: Path, pose_frames, tmp_path_factory) -> tuple[Path, Path, Path]:
    """(video, keypoints file written from our engine's frames, labels) of sprint clip b4."""
    video = shared_data / "sprint_starts" / "b4.mp4"
    kp = tmp_path_factory.mktemp("kp") / "b4.jsonl"
    with kp.open("w") as fh:
        keypoints_io.write(fh, pose_frames(video), {"source": video.name})
    return video, kp, shared_data / "sprint_starts" / "b4.csv"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_follows_the_contract(sprint, capsys) -> None:
    video, kp, _ = sprint
    code, out, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["schema"] == 1
    assert set(doc) == {"schema", "video", "direction", "gait", "initiation", "strides", "summary"}
    assert doc["video"]["frames"] == 147 and (doc["video"]["width"], doc["video"]["height"]) == (1280, 720)
    assert doc["video"]["fps"] == pytest.approx(29.97, abs=0.05)
    assert doc["direction"] == 1 and doc["gait"] == "running"
    init = doc["initiation"]
    assert set(init) == {"t_s", "lean_deg", "pelvis_offset", "verdict", "reasons"}
    assert init["t_s"] == pytest.approx(74 / 29.97, abs=2 / 29.97)  # block clearance at frame 74
    assert doc["strides"], "a sprint start has strides"
    for s in doc["strides"]:
        assert set(s) == STRIDE_KEYS
        assert s["contact_t_s"] <= s["midstance_t_s"] <= s["toe_off_t_s"]
        assert s["verdict"] in ("go", "no_go", "unsure") and isinstance(s["reasons"], list)
        assert s["foot"] in ("left", "right")
    summary = doc["summary"]
    assert summary["strides"] == len(doc["strides"]) == summary["go"] + summary["no_go"] + summary["unsure"]


def test_capture_fps_scales_times_to_real_time(sprint, capsys) -> None:
    video, kp, _ = sprint
    _, out, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--json")
    _, slow, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--json", "--capture-fps", "59.94")
    a, b = json.loads(out), json.loads(slow)
    assert b["video"]["capture_fps"] == 59.94
    # Same frames, played at half the capture rate: every time halves (the detections themselves
    # may differ slightly since speeds are now twice as fast in real time).
    assert b["initiation"]["t_s"] == pytest.approx(a["initiation"]["t_s"] / 2, abs=0.04)


def test_csv_and_table(sprint, capsys) -> None:
    video, kp, _ = sprint
    code, out, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and set(rows[0]) == STRIDE_KEYS
    code, out, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp))
    assert code == 0
    assert "initiation at" in out and "summary:" in out and f"{len(rows)} strides" in out


def test_events_listing_shows_each_decision_lag(sprint, capsys) -> None:
    video, kp, _ = sprint
    code, out, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--events")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    kinds = {r[0] for r in rows}
    assert {"initiation", "contact", "toe_off", "midstance"} <= kinds
    for r in rows:
        frame, decided, lag = int(r[-5]), int(r[-3]), int(r[-2])
        assert decided - frame == lag >= 0


def test_eval_prints_the_per_event_table(sprint, capsys) -> None:
    video, kp, labels = sprint
    code, out, _ = run(capsys, "eval", str(video), str(labels), "--keypoints", str(kp), "--first-row-initiation")
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(rows) == {"initiation", "contact", "toe_off"}
    labels_n, matched, missed = (int(x) for x in rows["initiation"][1:4])
    assert (labels_n, matched, missed) == (1, 1, 0)
    assert int(rows["toe_off"][2]) >= 4  # of 5 labelled toe-offs


def test_bad_inputs_are_one_line_errors(sprint, capsys, tmp_path: Path) -> None:
    video, kp, _ = sprint
    code, _, err = run(capsys, "analyze", str(video), "--keypoints", str(tmp_path / "none.jsonl"))
    assert code == 2 and err.strip().count("\n") == 0 and "no such keypoints file" in err
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n")
    code, _, err = run(capsys, "analyze", str(video), "--keypoints", str(junk))
    assert code == 2 and "not a LeanCam keypoints file" in err
    code, _, err = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--capture-fps", "0")
    assert code == 2 and "--capture-fps must be positive" in err
    code, _, err = run(capsys, "eval", str(video), str(tmp_path / "no.csv"), "--keypoints", str(kp))
    assert code == 2 and "no such labels file" in err
    code, _, err = run(capsys, "analyze", str(tmp_path / "missing.mp4"))
    assert code == 2 and "no such video file" in err
    bad_cfg = tmp_path / "c.toml"
    bad_cfg.write_text("[lean]\nslouchy = 1\n")
    code, _, err = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--config", str(bad_cfg))
    assert code == 2 and "unknown key 'slouchy'" in err


def test_keypoints_of_nobody(capsys, tmp_path: Path) -> None:
    kp = tmp_path / "empty.jsonl"
    with kp.open("w") as fh:
        keypoints_io.write(fh, [PoseFrame(i, i / 30, 640, 480, None, 0.0) for i in range(30)])
    code, out, _ = run(capsys, "analyze", "nobody.mp4", "--keypoints", str(kp), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["initiation"] is None and doc["strides"] == [] and doc["gait"] is None


def test_analyze_runs_our_engine_when_no_keypoints_are_given(demo_clip: Path, capsys) -> None:
    code, out, _ = run(capsys, "analyze", str(demo_clip), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["video"]["frames"] == 230
    assert doc["gait"] in ("walking", None)  # never running (test_walking_demo_clip_has_no_running_strides)
    # walking steps, a step that looked like running before any gait was established, or both feet
    # landing together (the clip ends with a jump): never judged
    assert all(s["verdict"] == "unsure" and s["reasons"] in (["walking"], ["gait_not_established"], ["feet_together"])
               for s in doc["strides"]), [s["reasons"] for s in doc["strides"]]


def test_annotate_writes_every_frame_with_the_drawing(sprint, capsys, tmp_path: Path) -> None:
    import av
    import numpy as np

    video, kp, _ = sprint
    out = tmp_path / "ann.mp4"
    code, _, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--annotate", str(out))
    assert code == 0
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(video)) as c:
        originals = [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i in (0, 100)]
    assert len(frames) == 147
    # Frame 100 is mid-stride: drawing changed many pixels there; frame 0 at least has the label.
    assert np.mean(np.abs(frames[100].astype(int) - originals[1].astype(int)) > 40) > 0.002
    assert np.mean(np.abs(frames[0].astype(int) - originals[0].astype(int)) > 40) > 0.0005
    nowhere = tmp_path / "no" / "a.mp4"
    code, _, err = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--annotate", str(nowhere))
    assert code == 2 and "output folder does not exist" in err


def test_every_analyses_what_a_slower_camera_would_see(sprint, capsys) -> None:
    """``--every N`` (as in ``leancam eval``): every N-th frame, the clip's own times kept."""
    video, kp, _ = sprint
    _, full, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--json")
    code, half, _ = run(capsys, "analyze", str(video), "--keypoints", str(kp), "--json", "--every", "2")
    a, b = json.loads(full), json.loads(half)
    assert code == 0 and b["video"]["frames"] == (a["video"]["frames"] + 1) // 2
    assert b["video"]["fps"] == pytest.approx(a["video"]["fps"], rel=0.01)  # the clip's rate, not the kept frames'
    assert run(capsys, "analyze", str(video), "--keypoints", str(kp), "--every", "0")[0] != 0


def test_a_mistyped_command_module_fails_loudly() -> None:
    """A misspelt entry in COMMAND_MODULES must not make a command vanish from ``leancam --help``."""
    import argparse

    from appliance.commands import COMMAND_MODULES, register

    sub = argparse.ArgumentParser().add_subparsers()
    register(sub, "appliance.commands", COMMAND_MODULES)  # every listed command exists
    with pytest.raises(ModuleNotFoundError, match="analyse"):
        register(argparse.ArgumentParser().add_subparsers(), "appliance.commands", ("analyse",))
