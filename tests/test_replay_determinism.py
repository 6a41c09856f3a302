"""The same footage gets the same answer every time (issue 14, "Replay").

``leancam run --source file:b4.mp4 --loop --no-realtime`` replays one sprint start again and again;
before runs were split by runner, the analysis state of one pass (leg length, direction, feet
tracks, filters, gait history) carried into the next and the 10 passes came out as 6 go / 1 no-go,
5 / 2 and 4 / 3. Each pass must now give identical strides: events, metrics and verdicts.
Skipped without ../shared/data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from appliance.analysis.analyzer import (
    RUN_DRILL,
    RUN_FIRST,
    RUN_OTHER_BODY,
    RUN_RUNNER_LEFT,
    RUN_SOURCE_RESTART,
    RUN_TIME_WENT_BACK,
    StreamingAnalyzer,
    StrideResult,
)
from appliance.config import Config, RecorderConfig
from appliance.live.app import LiveAppliance, RunOptions
from appliance.pose.types import PoseFrame
from appliance.sources.base import Frame

PASSES = 10


class _LoopedCachedPose:
    """The real engine's keypoints of one pass (conftest.pose_frames), handed back for every pass
    with the looped frame's own index and time, as the engine would; counts the resets it gets."""

    def __init__(self, frames: list[PoseFrame]) -> None:
        self._frames = frames
        self.resets_at: list[int] = []
        self.processed: list[int] = []

    def process(self, frame: Frame) -> PoseFrame:
        self.processed.append(frame.index)
        cached = self._frames[frame.index % len(self._frames)]
        return dataclasses.replace(cached, index=frame.index, t_s=frame.t_s)

    def reset(self) -> None:
        self.resets_at.append(self.processed[-1] + 1 if self.processed else 0)


def _strides_per_run(analyzer: StreamingAnalyzer) -> list[list[tuple[Any, ...]]]:
    """Each run's strides with times relative to the run's start, rounded to 1 µs (a pass's frames
    carry times offset by the passes before; the float sums differ in the last bits)."""
    starts = [r.t_s for r in analyzer.runs]
    out: list[list[tuple[Any, ...]]] = [[] for _ in starts]
    for s in analyzer.strides:
        k = max(i for i, t in enumerate(starts) if t <= s.step.contact.t_s + 1e-9)
        out[k].append(_key(s, starts[k]))
    return out


def _key(s: StrideResult, t0: float) -> tuple[Any, ...]:
    j = s.to_json()
    return (s.step.foot, round(s.step.contact.t_s - t0, 6), round(s.step.toe_off.t_s - t0, 6),
            s.step.contact.frame_index - s.step.samples[0].index, j["hip_over_foot"], j["pelvis_offset"],
            j["overstride"], j["lean_deg"], s.verdict, s.reasons)


def test_a_sprint_start_looped_ten_times_gives_the_same_strides_every_pass(shared_data: Path,
                                                                           pose_frames: Any) -> None:
    """Through the live wiring ``leancam run --loop --no-realtime`` uses: ReplaySource marks each
    new pass, the pose track is reset and the analysis starts a new run (runner and site state)."""
    clip = shared_data / "sprint_starts" / "b4.mp4"
    frames = pose_frames(clip)
    engine = _LoopedCachedPose(frames)
    config = Config(recording=RecorderConfig(enabled=False))  # not what is tested, and it is slow
    app = LiveAppliance(RunOptions(source=f"file:{clip}", realtime=False, loop=True, web=False,
                                   max_frames=PASSES * len(frames)), config=config, pin_factory=MockFactory(),
                        engine=engine)  # type: ignore[arg-type]
    try:
        stats = app.run()
    finally:
        app.close()
    # Every frame of the 10 passes analysed, in order (the one "dropped" frame `leancam run` reports
    # is the capture thread's frame after --max-frames, never processed).
    assert stats.frames_processed == PASSES * len(frames)
    assert engine.processed == list(range(PASSES * len(frames)))
    analyzer = app.analyzer
    assert analyzer is not None
    assert [r.reason for r in analyzer.runs] == [RUN_FIRST] + [RUN_SOURCE_RESTART] * (PASSES - 1)
    assert engine.resets_at == [k * len(frames) for k in range(1, PASSES)], "pose track reset at every new pass"
    runs = _strides_per_run(analyzer)
    assert len(runs) == PASSES and len(runs[0]) >= 5, [len(r) for r in runs]
    assert any(k[-2] != "unsure" for k in runs[0]), "some strides of the sprint are judged"
    for i, run in enumerate(runs[1:], start=2):
        assert run == runs[0], f"pass {i} differs from pass 1"


def test_a_clock_that_goes_back_starts_a_new_run(shared_data: Path, pose_frames: Any) -> None:
    """A source that restarts its clock (a player looping a file, concatenated recordings) needs no
    marker: time going back is a new run, with times from the new start."""
    frames = pose_frames(shared_data / "sprint_starts" / "b4.mp4")
    analyzer = StreamingAnalyzer()
    for _ in range(3):
        for f in frames:
            analyzer.push(f)
    assert [r.reason for r in analyzer.runs] == [RUN_FIRST, RUN_TIME_WENT_BACK, RUN_TIME_WENT_BACK]
    keys = [_key(s, 0.0) for s in analyzer.strides]
    n = len(keys) // 3
    assert n >= 5 and keys == keys[:n] * 3


def test_a_runner_leaving_the_view_resets_the_runner_but_keeps_the_ground(shared_data: Path,
                                                                          pose_frames: Any) -> None:
    """Nobody in view for longer than ``new_runner_after_s`` and then someone: a new runner (fresh
    leg length, direction, gait history), judged as the first one was; the fixed camera's ground
    line is kept (it is the site's)."""
    frames = pose_frames(shared_data / "sprint_starts" / "b4.mp4")
    period = float(np.median(np.diff([f.t_s for f in frames])))
    gap = [PoseFrame(len(frames) + i, frames[-1].t_s + (i + 1) * period, frames[0].width_px, frames[0].height_px,
                     None, 0.0) for i in range(round(3.0 / period))]
    second = [dataclasses.replace(f, index=f.index + len(frames) + len(gap),
                                  t_s=f.t_s + gap[-1].t_s + period) for f in frames]
    analyzer = StreamingAnalyzer()
    for f in frames + gap + second:
        analyzer.push(f)
    assert [r.reason for r in analyzer.runs] == [RUN_FIRST, RUN_RUNNER_LEFT]
    assert analyzer.runs[1].kept_site
    alone = StreamingAnalyzer()
    for f in frames:
        alone.push(f)
    first = [s for s in analyzer.strides if s.step.contact.t_s < analyzer.runs[1].t_s]
    assert [_key(s, 0.0) for s in first] == [_key(s, 0.0) for s in alone.strides]
    # The second runner's verdicts do not lean on the first's strides: they are those of a fresh
    # runner on the kept ground line (a drill press's new run, right where the second runner
    # appears). Not those of the first pass: the ground line known from the start moves the first
    # strides' pelvis offsets (b4's first stride: near_limit_pelvis_offset alone, go here).
    fresh = StreamingAnalyzer()
    for f in frames:
        fresh.push(f)
    fresh.new_run(RUN_DRILL)
    for f in second:
        fresh.push(f)
    n_first = len(first)
    later = [_key(s, 0.0) for s in analyzer.strides[n_first:]]
    assert len(later) >= 5 and later == [_key(s, 0.0) for s in fresh.strides[len(alone.strides):]]


def test_a_drill_press_starts_a_new_run_on_the_streams_clock(shared_data: Path, pose_frames: Any) -> None:
    """A press (``new_run(RUN_DRILL)``, applied at the next frame) forgets the runner but keeps the
    site's ground line, and the new run's times stay on the source's clock (the recorder and the
    run log place events by them)."""
    frames = pose_frames(shared_data / "sprint_starts" / "b4.mp4")
    analyzer = StreamingAnalyzer()
    analyzer.new_run(RUN_DRILL)  # before the first frame: the first frame is a new run anyway
    for f in frames:
        analyzer.push(f)
    n = len(analyzer.strides)
    assert n >= 5 and [r.reason for r in analyzer.runs] == [RUN_FIRST]
    analyzer.new_run(RUN_DRILL)
    period = float(np.median(np.diff([f.t_s for f in frames])))
    for f in frames:
        analyzer.push(dataclasses.replace(f, index=f.index + len(frames), t_s=f.t_s + frames[-1].t_s + period))
    drill = analyzer.runs[-1]
    assert drill.reason == RUN_DRILL and drill.kept_site
    assert drill.t_s == pytest.approx(frames[-1].t_s + period, abs=1e-6)
    later = analyzer.strides[n:]
    assert later and all(s.step.contact.t_s > drill.t_s for s in later)
    assert analyzer.tracker.frames_with_pose <= len(frames)  # a fresh tracker: this run's frames only


def test_the_pose_jumping_to_another_body_starts_a_new_run(shared_data: Path, pose_frames: Any) -> None:
    """The pose model's person selection sometimes holds another body for a clip's first frames
    (8 of the 12 right-to-left starts on some keypoint input: a person standing 4-5 leg lengths away)
    or jumps to one when the runner leaves. A body does not move 4 leg lengths in a frame: what
    follows is another runner, judged as if the other body had never been seen (its ground line
    neither: it stood elsewhere)."""
    frames = pose_frames(shared_data / "sprint_starts" / "b4.mp4")
    period = float(np.median(np.diff([f.t_s for f in frames])))
    first = frames[0]
    assert first.landmarks is not None
    shifted = first.landmarks.copy()
    shifted[:, 0] -= 450.0  # the same pose, 4-5 leg lengths along, standing still for 5 frames
    shifted[:, 1] -= 150.0
    other = [dataclasses.replace(first, index=i, t_s=i * period, landmarks=shifted) for i in range(5)]
    runner = [dataclasses.replace(f, index=f.index + 5, t_s=f.t_s + 5 * period) for f in frames]
    analyzer = StreamingAnalyzer()
    for f in other + runner:
        analyzer.push(f)
    assert [r.reason for r in analyzer.runs] == [RUN_FIRST, RUN_OTHER_BODY]
    assert not analyzer.runs[1].kept_site
    alone = StreamingAnalyzer()
    for f in frames:
        alone.push(f)
    assert len(alone.strides) >= 5
    assert [_key(s, 5 * period) for s in analyzer.strides] == [_key(s, 0.0) for s in alone.strides]
