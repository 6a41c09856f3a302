"""A recorded clip into the analysis: its pose frames (our engine, or a keypoints JSONL written by
``leancam pose --out``) and the analysis over them. ``leancam analyze`` and ``leancam eval`` both
start here, so they judge a clip the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from appliance.analysis.analyzer import AnalysisResult, analyze_frames, median_fps
from appliance.config import Config, PoseConfig
from appliance.errors import BadInputError, check_input_file, warn_user
from appliance.pose import keypoints_io
from appliance.pose.types import PoseFrame


def _engine_frames(video: Path, pose: PoseConfig | None = None, every: int = 1) -> Iterator[PoseFrame]:
    from appliance.pose.engine import PoseEngine  # the model is loaded only when needed
    from appliance.sources.video_file import VideoFileSource

    with VideoFileSource(video) as source:  # a bad file fails here, before the model loads
        engine = PoseEngine.from_config(pose or PoseConfig())
        for frame in source.frames():
            # The engine sees only the kept frames: it tracks at the lower rate, as a camera at it would.
            if frame.index % every == 0:
                yield engine.process(frame)
        message = source.ended_early_message()
    if message is not None:
        # The frames before the cut are analysed; the user must know the result covers only them.
        warn_user(f"{message}; only those frames are analysed")


def load_frames(video: Path, keypoints: Path | None, pose: PoseConfig | None = None,
                every: int = 1) -> list[PoseFrame]:
    """Pose frames of ``video``: from ``keypoints`` if given, else by running our engine.

    ``every`` > 1 keeps every N-th frame only (source indices and times kept): a high-speed clip
    seen as a camera at 1/N of its rate would see it.
    """
    if keypoints is not None:
        check_input_file(keypoints, "keypoints file")
        try:
            _, frames = keypoints_io.read(keypoints)
            out = list(frames)
        except (json.JSONDecodeError, KeyError, ValueError, TypeError) as err:
            raise BadInputError(f"{keypoints}: corrupt keypoints file ({err.__class__.__name__})") from err
        if not out:
            raise BadInputError(f"{keypoints}: contains no frames")
        return [f for f in out if f.index % every == 0]
    check_input_file(video)
    return list(_engine_frames(video, pose, every))


def drop_frames(frames: list[PoseFrame], every_n: int) -> list[PoseFrame]:
    """The frames an appliance falling behind would analyse: every ``every_n``-th one dropped (below
    2: none; ``leancam eval --drop-every`` checks its argument).

    Live, the frame queue drops the oldest frame whenever the model is slower than the camera
    (``appliance.live.frame_queue``), so the analysis sees gaps in the frame indices; this makes the
    same gaps in recorded frames, at a fixed share.
    """
    if every_n < 2:
        return frames
    return [f for n, f in enumerate(frames) if n % every_n != every_n - 1]


def check_capture_fps(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise BadInputError(f"--capture-fps must be positive, got {value}")
    return value


def analyze_clip(video: Path, keypoints: Path | None, capture_fps: float | None, cfg: Config,
                 every: int = 1, drop_every: int = 0) -> tuple[AnalysisResult, list[PoseFrame]]:
    """Analyse ``video`` (or its ``keypoints`` file) with ``cfg``; the result and the pose frames
    (all of them: ``drop_every`` drops frames from the analysis only, ``drop_frames``)."""
    capture = check_capture_fps(capture_fps)
    frames = load_frames(video, keypoints, cfg.pose, every)
    # The clip's own frame rate, not the kept frames': frame indices and --capture-fps refer to it.
    source_fps = median_fps([f.t_s for f in frames]) * every if every > 1 else None
    return analyze_frames(drop_frames(frames, drop_every), cfg, capture_fps=capture, video_path=str(video),
                          source_fps=source_fps), frames
