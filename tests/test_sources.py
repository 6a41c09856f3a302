"""Frame sources: real decoding of the demo clip, pacing, looping, and clear errors on bad files."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from appliance.errors import BadInputError
from appliance.sources.factory import open_source
from appliance.sources.picamera import dropped_between, lores_to_rgb
from appliance.sources.replay import ReplaySource, paced
from appliance.sources.video_file import VideoFileSource


def test_demo_clip_decodes_with_pts_times(demo_clip: Path) -> None:
    with VideoFileSource(demo_clip) as src:
        assert (src.info.width_px, src.info.height_px) == (1768, 994)
        frames = list(itertools.islice(src.frames(), 10))
    assert [f.index for f in frames] == list(range(10))
    assert frames[0].t_s == 0.0
    assert np.allclose(np.diff([f.t_s for f in frames]), 1 / 30, atol=1e-3)
    assert frames[0].rgb.shape == (994, 1768, 3) and frames[0].rgb.dtype == np.uint8


@pytest.mark.parametrize("content", [b"", b"this is not a video at all" * 100])
def test_non_video_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(BadInputError, match=r"bad\.mp4"):
        src = VideoFileSource(bad)
        list(src.frames())


def test_truncated_video_keeps_decodable_frames(tmp_path: Path, demo_clip: Path) -> None:
    cut = tmp_path / "cut.mp4"
    data = demo_clip.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    try:
        src = VideoFileSource(cut)
    except BadInputError:
        return  # the moov atom was in the lost half: refused with a clear message, also fine
    with src:
        assert sum(1 for _ in src.frames()) > 0


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such video file"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_replay_loops_with_increasing_times(demo_clip: Path) -> None:
    with ReplaySource(demo_clip, realtime=False, loop=True) as src:
        frames = list(itertools.islice(src.frames(), 240))  # clip has 230 frames
    times = [f.t_s for f in frames]
    assert all(b > a for a, b in itertools.pairwise(times))
    assert [f.index for f in frames] == list(range(240))
    assert src.passes >= 1


def test_paced_sleeps_until_each_frame_time() -> None:
    from appliance.sources.base import Frame

    now = [100.0]
    slept: list[float] = []

    def sleep(d: float) -> None:
        slept.append(d)
        now[0] += d

    img = np.zeros((2, 2, 3), np.uint8)
    frames = [Frame(i, i * 0.1, img) for i in range(4)]
    out = list(paced(iter(frames), clock=lambda: now[0], sleep=sleep))
    assert len(out) == 4
    assert slept == pytest.approx([0.1, 0.1, 0.1])


def test_factory_rejects_unknown_spec() -> None:
    with pytest.raises(BadInputError, match="unknown source"):
        open_source("carrier-pigeon")


def test_factory_auto_falls_back_to_the_running_demo(running_demo: Path) -> None:
    with open_source("auto", realtime=False) as src:
        assert src.info.name == "file:male_side.mp4"
        assert src.loop  # the appliance keeps running on it
    with open_source("demo", realtime=False) as src:
        assert src.info.name == "file:male_side.mp4"


def test_factory_demo_walk_is_the_sports2d_clip(demo_clip: Path) -> None:
    with open_source("demo:walk", realtime=False) as src:
        assert src.info.name == "file:demo.mp4" and src.loop
    with pytest.raises(BadInputError, match="unknown demo 'jump'"):
        open_source("demo:jump")


def test_lores_yuv420_to_rgb() -> None:
    h, w = 4, 6
    y = np.full((h, w), 81, np.uint8)  # BT.601 limited-range red: Y=81, U=90, V=240
    u = np.full((h // 2, w // 2), 90, np.uint8)
    v = np.full((h // 2, w // 2), 240, np.uint8)
    i420 = np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(h * 3 // 2, w)
    rgb = lores_to_rgb(i420, "YUV420")
    assert rgb.shape == (h, w, 3)
    assert rgb[0, 0, 0] > 200 and rgb[0, 0, 1] < 40 and rgb[0, 0, 2] < 40


def test_lores_rgb888_is_bgr_in_memory() -> None:
    px = np.array([[[10, 20, 30]]], np.uint8)  # picamera2 "RGB888" stores B, G, R
    assert lores_to_rgb(px, "RGB888").tolist() == [[[30, 20, 10]]]
    assert lores_to_rgb(px, "BGR888").tolist() == [[[10, 20, 30]]]


@pytest.mark.parametrize(("gap_periods", "dropped"), [(1.0, 0), (1.4, 0), (2.0, 1), (3.1, 2)])
def test_dropped_frames_from_sensor_timestamps(gap_periods: float, dropped: int) -> None:
    period = 16_666_667
    assert dropped_between(0, int(gap_periods * period), period) == dropped


@pytest.mark.hardware
def test_picamera_delivers_frames() -> None:
    from appliance.sources.picamera import PicameraSource

    with PicameraSource() as cam:
        frames = list(itertools.islice(cam.frames(), 10))
    assert len(frames) == 10
    assert all(b.t_s > a.t_s for a, b in itertools.pairwise(frames))
