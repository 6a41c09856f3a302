"""The pose engine with the real models: loading errors, nobody in frame, tracking bookkeeping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.errors import ModelError
from appliance.ops import assets
from appliance.pose.anchors import generate_anchors
from appliance.pose.engine import EngineStats, PoseEngine
from appliance.pose.runtime import load_interpreter
from appliance.sources.base import Frame
from appliance.sources.video_file import VideoFileSource


@pytest.fixture(scope="module")
def engine() -> PoseEngine:
    return PoseEngine.from_assets(num_threads=2)


def test_missing_model_is_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"setup\.sh"):
        load_interpreter(tmp_path / "nope.tflite")
    with pytest.raises(ModelError, match="missing"):
        PoseEngine(tmp_path / "nope.tflite", assets.require("pose_landmark_full", verify=False))


def test_corrupt_model_is_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"this is not a flatbuffer" * 10)
    with pytest.raises(ModelError, match="corrupt"):
        load_interpreter(bad)


def test_detector_output_matches_anchor_count() -> None:
    interp = load_interpreter(assets.require("pose_detection", verify=False))
    shapes = sorted(tuple(d["shape"][1:]) for d in interp.get_output_details())
    assert shapes == [(len(generate_anchors()), 1), (len(generate_anchors()), 12)]


@pytest.mark.parametrize("value", [0, 255])
def test_blank_frame_has_no_pose(engine: PoseEngine, value: int) -> None:
    engine.reset()
    frame = Frame(0, 0.0, np.full((480, 640, 3), value, dtype=np.uint8))
    pose = engine.process(frame)
    assert pose.landmarks is None and not pose.has_pose
    assert pose.score == 0.0
    assert (pose.width_px, pose.height_px) == (640, 480)
    assert engine.stats == EngineStats(frames=1, detector_runs=1, frames_with_pose=0)
    assert engine.roi is None


def test_tracks_after_one_detection(engine: PoseEngine, demo_clip: Path) -> None:
    engine.reset()
    poses = []
    with VideoFileSource(demo_clip) as source:
        for frame in source.frames():
            if frame.index >= 30:
                break
            poses.append(engine.process(frame))
    found = [p for p in poses if p.has_pose]
    assert len(found) >= 25
    stats = engine.stats
    assert stats.frames == 30 and stats.frames_with_pose == len(found)
    # The detector runs only when tracking was lost, far less than once per frame.
    assert stats.detector_runs <= 8
    lms = found[-1].landmarks
    assert lms is not None and lms.shape == (33, 5) and lms.dtype == np.float32
    assert np.all((lms[:, 3:] >= 0) & (lms[:, 3:] <= 1))
    # Hips of the walking person are inside the frame.
    assert np.all((lms[[23, 24], 0] > 0) & (lms[[23, 24], 0] < found[-1].width_px))
    engine.reset()
    assert engine.roi is None and engine.stats.frames == 0


def test_frame_size_change_restarts_from_detector(engine: PoseEngine, demo_clip: Path) -> None:
    engine.reset()
    with VideoFileSource(demo_clip) as source:
        frames = [f for f in source.frames() if f.index < 12]
    for f in frames[:10]:
        engine.process(f)
    assert engine.roi is not None
    runs = engine.stats.detector_runs
    half = Frame(10, frames[10].t_s, np.ascontiguousarray(frames[10].rgb[::2, ::2]))
    pose = engine.process(half)
    assert engine.stats.detector_runs == runs + 1
    assert (pose.width_px, pose.height_px) == (half.width_px, half.height_px)
