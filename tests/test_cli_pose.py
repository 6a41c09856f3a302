"""``leancam pose`` end to end on the bundled demo clip, through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import av

LEANCAM = [sys.executable, "-m", "appliance"]


def test_pose_writes_33_keypoints_per_frame_and_fps(tmp_path: Path, demo_clip: Path) -> None:
    out = tmp_path / "kp.jsonl"
    video = tmp_path / "annotated.mp4"
    proc = subprocess.run([*LEANCAM, "pose", str(demo_clip), "--out", str(out), "--annotate", str(video),
                           "--no-progress"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "fps overall" in proc.stdout and "fps pose stage" in proc.stdout
    lines = out.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["kind"] == "leancam-keypoints" and header["video"]["frames"] == 230
    frames = [json.loads(line) for line in lines[1:]]
    assert len(frames) == 230
    with_pose = [f for f in frames if f["landmarks"] is not None]
    assert len(with_pose) > 200  # people are in view nearly all the clip
    assert all(len(f["landmarks"]) == 33 and all(len(p) == 5 for p in f["landmarks"]) for f in with_pose)
    with av.open(str(video)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 230
    assert not list(tmp_path.glob("*.part"))


def test_missing_model_names_setup(tmp_path: Path, demo_clip: Path) -> None:
    env = {**os.environ, "LEANCAM_MODELS_DIR": str(tmp_path)}
    # The fetched originals are what is missing (the default variants ship in models/built).
    cfg = tmp_path / "original.toml"
    cfg.write_text('[pose]\ndetector = "original"\nlandmark = "original"\n')
    proc = subprocess.run([*LEANCAM, "pose", str(demo_clip), "--config", str(cfg)], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 3
    assert "./setup.sh" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_not_a_video_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    proc = subprocess.run([*LEANCAM, "pose", str(bad), "--out", str(tmp_path / "kp.jsonl")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("leancam: error:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "kp.jsonl").exists()


def test_nobody_in_frame_gives_empty_result(tmp_path: Path) -> None:
    clip = tmp_path / "empty.mp4"
    import numpy as np

    from appliance.recording.h264 import Mp4Writer

    with Mp4Writer(clip, 30.0, 320, 240) as w:
        for i in range(20):
            w.write(np.full((240, 320, 3), 40 + i, np.uint8))  # a grey, empty scene
    out = tmp_path / "kp.jsonl"
    proc = subprocess.run([*LEANCAM, "pose", str(clip), "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    frames = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    assert len(frames) == 20 and all(f["landmarks"] is None for f in frames)
    assert "no person" in proc.stderr


def test_perturb_moves_every_pixel_by_at_most_one_level_reproducibly() -> None:
    """``--perturb SEED``: another decoder's rounding, seeded, so a robustness run can be repeated."""
    import numpy as np

    from appliance.commands.pose import perturbed

    rgb = np.array([[[0, 128, 255]] * 64] * 48, dtype=np.uint8)
    a = perturbed(rgb, np.random.default_rng(3))
    b = perturbed(rgb, np.random.default_rng(3))
    c = perturbed(rgb, np.random.default_rng(4))
    diff = a.astype(int) - rgb.astype(int)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert diff.min() >= -1 and diff.max() <= 1 and a.dtype == np.uint8
    assert 0.6 < np.mean(diff[..., 1] != 0) < 0.73  # two thirds of mid-range values move
    assert 0.28 < np.mean(diff[..., 0] != 0) < 0.39  # one third at 0 and 255 (clipped)
    assert a[..., 0].min() == 0 and a[..., 2].max() == 255


def test_pose_perturb_records_its_seed(tmp_path: Path, demo_clip: Path) -> None:
    out = tmp_path / "kp.jsonl"
    proc = subprocess.run([*LEANCAM, "pose", str(demo_clip), "--out", str(out), "--no-progress", "--perturb", "7"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text().splitlines()[0])["perturb_seed"] == 7
