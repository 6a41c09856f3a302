"""Invariances through the pose model itself: the sprint clips' *videos* flipped, rolled ±3° and
re-encoded, each run through the default engine and the analysis (issue: "horizontally flipped
video → same metrics, direction flipped; a camera rolled by a few degrees → lean within 1°").

The keypoint-level versions (tests/test_gait_clips.py) show the analysis is exactly invariant; here
the model sees different pixels, so single strides move by as much as re-encoding the video moves
them (JPEG q90 is the control). Measured on all seven clips (docs/analysis.md, "Invariances"):
events within 1 frame of the original's: JPEG 84 %, flip 75 %, roll +3° 73 %, roll −3° 80 %;
signed lean change, median over matched strides: JPEG −0.1°, flip −0.4°, roll −0.5° / −0.3°;
90th percentile of |change|: JPEG 4.8°, flip 6.6°, roll 5.9° / 4.6°. The ground line turns with
the camera: its tilt changes by −3.05° / +3.38° on average.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from appliance.analysis.analyzer import AnalysisResult, StrideResult, analyze_frames
from appliance.config import Config
from appliance.pose.engine import PoseEngine
from appliance.sources.base import Frame
from appliance.sources.video_file import VideoFileSource

SPRINTS = ("b2", "b3", "b4", "b5", "b6", "b7", "b8")
Transform = Callable[[np.ndarray], np.ndarray]


def _flip(rgb: np.ndarray) -> np.ndarray:
    return rgb[:, ::-1]


def _roll(deg: float) -> Transform:
    """A camera rolled by ``deg`` (counter-clockwise in the image) about the image centre."""
    def roll(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
        return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return roll


def _jpeg(rgb: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


VIEWS: dict[str, Transform | None] = {"base": None, "jpeg": _jpeg, "flip": _flip, "roll+3": _roll(3.0),
                                      "roll-3": _roll(-3.0)}


@pytest.fixture(scope="module")
def views(shared_data: Path) -> dict[str, dict[str, AnalysisResult]]:
    """clip → view → analysis, every view through the default engine (as `leancam analyze`)."""
    cfg = Config()
    # One engine per view (each keeps its own tracking state), so every frame is decoded once.
    engines = {name: PoseEngine.from_config(cfg.pose) for name in VIEWS}
    out: dict[str, dict[str, AnalysisResult]] = {}
    for clip in SPRINTS:
        frames: dict[str, list] = {name: [] for name in VIEWS}
        for engine in engines.values():
            engine.reset()
        with VideoFileSource(shared_data / "sprint_starts" / f"{clip}.mp4") as src:
            for f in src.frames():
                for name, transform in VIEWS.items():
                    view = f if transform is None else Frame(f.index, f.t_s, np.ascontiguousarray(transform(f.rgb)))
                    frames[name].append(engines[name].process(view))
        out[clip] = {name: analyze_frames(frames[name], cfg) for name in VIEWS}
    return out


def _matched(a: AnalysisResult, b: AnalysisResult, need_slope: bool = False
             ) -> list[tuple[StrideResult, StrideResult]]:
    """Judged strides of ``a`` with the stride of ``b`` whose contact and toe-off are within a frame."""
    pairs = []
    for s in a.strides:
        if s.verdict == "unsure":
            continue
        o = min(b.strides, key=lambda x: abs(x.step.contact.frame_index - s.step.contact.frame_index)
                + abs(x.step.toe_off.frame_index - s.step.toe_off.frame_index), default=None)
        if (o is None or abs(o.step.contact.frame_index - s.step.contact.frame_index) > 1
                or abs(o.step.toe_off.frame_index - s.step.toe_off.frame_index) > 1):
            continue
        if need_slope and (s.step.ground.tilt_deg == 0.0 or o.step.ground.tilt_deg == 0.0):
            continue  # ground slope not measurable yet: taken as level (docs/analysis.md, known limits)
        pairs.append((s, o))
    return pairs


def _events_within_a_frame(views: dict[str, dict[str, AnalysisResult]], view: str) -> float:
    near = total = 0
    for by_view in views.values():
        a, b = by_view["base"], by_view[view]
        for kind in ("initiation", "contact", "toe_off"):
            theirs = [e.frame_index for e in b.events if e.kind == kind]
            for e in (e for e in a.events if e.kind == kind):
                total += 1
                near += any(abs(e.frame_index - f) <= 1 for f in theirs)
    return near / total


def _lean_changes(views: dict[str, dict[str, AnalysisResult]], view: str, need_slope: bool = False) -> np.ndarray:
    return np.array([o.metrics.lean_deg - s.metrics.lean_deg for by_view in views.values()
                     for s, o in _matched(by_view["base"], by_view[view], need_slope)])


def test_flipped_video_reverses_the_direction_and_keeps_events_and_lean(views) -> None:
    for clip, by_view in views.items():
        assert by_view["base"].direction == 1 and by_view["flip"].direction == -1, clip
    assert _events_within_a_frame(views, "flip") >= 0.65
    d = _lean_changes(views, "flip")
    assert len(d) >= 15
    assert abs(float(np.median(d))) <= 1.0, d  # forward lean stays forward, same size


def test_rolled_camera_turns_the_ground_line_not_the_lean(views) -> None:
    for view, roll in (("roll+3", 3.0), ("roll-3", -3.0)):
        tilts = []
        # The direction holds on all but one clip per view: on AMD EPYC with AVX-512 VNNI and the
        # portable RGB conversion (3 Dec 2026), b8 rolled +3° is tracked with low confidence on 51
        # of 183 frames, no start is seen and the direction votes come out backwards. Other inputs
        # kept all seven.
        wrong = [clip for clip, by_view in views.items() if by_view[view].direction != 1]
        assert len(wrong) <= 1, (view, wrong)
        for clip, by_view in views.items():
            if clip in wrong:
                continue
            tilts += [o.step.ground.tilt_deg - s.step.ground.tilt_deg
                      for s, o in _matched(by_view["base"], by_view[view], need_slope=True)]
        assert float(np.mean(tilts)) == pytest.approx(-roll, abs=1.0), (view, tilts)
        assert _events_within_a_frame(views, view) >= 0.65, view
        d = _lean_changes(views, view, need_slope=True)
        # Enough strides in both views for a median (14 on the worst CPU measured, since the running
        # constraints drop stance fragments: docs/analysis.md, "Events that obey running").
        assert len(d) >= 12, view
        assert abs(float(np.median(d))) <= 1.0, (view, d)


def test_per_stride_scatter_is_the_models_own_noise(views) -> None:
    """Single strides move by a few degrees under every change of pixels, re-encoding included;
    flipping or rolling must not move them more than re-encoding does.

    Compared as distributions (one-sided Mann-Whitney U), not by a percentile of one view against a
    multiple of the other's: with 17-25 matched strides a view's 90th percentile is its second
    largest change, and one stride whose ground line came out differently decides it. Measured on
    x86 with the portable RGB conversion (3 Dec 2026), |change| median / 90th percentile over n
    strides: JPEG 0.6° / 6.4° (24), flip 1.1° / 5.8° (25), roll +3° 0.6° / 7.7° (17, one stride
    of b8 58.6°), roll -3° 2.0° / 5.2° (19); p of "larger than JPEG's" 0.14 / 0.39 / 0.19. An
    earlier run of the same code on the x86 SIMD conversion had JPEG's 90th percentile at 2.6° and
    roll +3° at 24.4°: that is how much these percentiles move with the input.
    """
    from scipy.stats import mannwhitneyu

    control = np.abs(_lean_changes(views, "jpeg"))
    assert float(np.median(control)) < 3.0, control
    for view in ("flip", "roll+3", "roll-3"):
        changes = np.abs(_lean_changes(views, view, need_slope=view != "flip"))
        p = float(mannwhitneyu(changes, control, alternative="greater").pvalue)
        assert p >= 0.01, (view, p, np.round(np.sort(changes), 1), np.round(np.sort(control), 1))
