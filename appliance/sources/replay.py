"""Replay a file as if it were a camera: paced in real time and optionally looped.

``leancam run`` uses this for the bundled demo clip and for ``--source file:PATH --realtime``, so the
live pipeline (and its tests) sees frames arrive at the camera's rate with monotonic timestamps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from appliance.sources.base import Frame, SourceInfo
from appliance.sources.video_file import VideoFileSource

log = logging.getLogger(__name__)


def paced(frames: Iterator[Frame], clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[Frame]:
    """Yield each frame no earlier than its ``t_s`` after the first one (real-time playback).

    If the consumer is slower than real time, frames are not skipped here: dropping is the
    pipeline's job (bounded queues), so it is counted in one place.
    """
    start: float | None = None
    for frame in frames:
        now = clock()
        if start is None:
            start = now - frame.t_s
        delay = start + frame.t_s - now
        if delay > 0:
            sleep(delay)
        yield replace(frame, captured_mono_s=clock())


class ReplaySource:
    """A video file replayed like a camera: optional real-time pacing and looping.

    Timestamps keep increasing across loops (one frame period after the last frame of the previous
    pass), and indices keep counting, just as a camera's would. The first frame of every pass after
    the first has ``starts_sequence`` set: the replay starts over, and pose tracking and the
    analysis start over with it, so every pass of the same clip gives the same result.
    """

    def __init__(self, path: Path | str, realtime: bool = True, loop: bool = False, demo: bool = False) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.loop = loop
        # A bundled demo clip stands in for a camera to show the product: the live pipeline replays
        # it without dropping frames (slower than real time on a slow machine) rather than judging
        # nothing because most frames were dropped. A real camera, or a file, keeps dropping.
        self.demo = demo
        # Open once now so a bad file fails at start-up with a clear message, not mid-run.
        self._current: VideoFileSource | None = VideoFileSource(self.path)
        base = self._current.info
        self.info = SourceInfo(f"file:{self.path.name}", base.width_px, base.height_px, base.fps,
                               None if loop else base.frame_count)
        self.passes = 0

    def _all_frames(self) -> Iterator[Frame]:
        period_s = 1.0 / (self.info.fps or 30.0)
        offset_s = 0.0
        index = 0
        while True:
            src = self._current or VideoFileSource(self.path)
            self._current = src
            last_t = 0.0
            try:
                for n, frame in enumerate(src.frames()):
                    last_t = frame.t_s
                    yield Frame(index, offset_s + frame.t_s, frame.rgb, frame.captured_mono_s,
                                starts_sequence=n == 0 and self.passes > 0)
                    index += 1
            finally:
                src.close()
                self._current = None
            if self.passes == 0 and src.ended_early:
                # Once, not every loop: the replay goes on with the frames that are there.
                log.warning("%s; replaying those frames", src.ended_early_message())
            self.passes += 1
            if not self.loop:
                return
            offset_s += last_t + period_s
            log.debug("replay %s: starting pass %d", self.path.name, self.passes + 1)

    def frames(self) -> Iterator[Frame]:
        frames = self._all_frames()
        return paced(frames) if self.realtime else frames

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def __enter__(self) -> ReplaySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
