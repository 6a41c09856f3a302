"""A recording loop without the analyzer: frames → recorder, a clip every ``every_s`` of capture time.

Used by the kill -9 fault test (as a subprocess: ``python -m appliance.bench.clip_schedule``) and by
``leancam bench soak``. Triggers are scheduled on the capture clock (``Frame.t_s``), as
``recording.runs.RunLogger`` calls ``trigger``/``end`` live, so the recorder sees the same calls
without the pose model's cost. The subprocess prints one line per
step to stdout, flushed, so a test that kills it knows what was in flight:
``READY``, ``TRIGGER <name>``, ``CLIP <name>`` (registered in the store).
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from appliance.pose.types import PoseFrame
from appliance.recording.recorder import Recorder, RecorderConfig
from appliance.recording.retention import RetentionConfig
from appliance.sources.base import Frame
from appliance.store import Session, open_state_dir

log = logging.getLogger(__name__)


class ClipSchedule:
    """Sink that triggers a clip at the start of every ``every_s`` window and ends it ``length_s`` in."""

    def __init__(self, recorder: Recorder, every_s: float, length_s: float,
                 on_trigger: Callable[[str], None] | None = None) -> None:
        self.recorder = recorder
        self.every_s = every_s
        self.length_s = length_s
        self.on_trigger = on_trigger
        self._next_start_t_s: float | None = None
        self._end_t_s: float | None = None
        self.triggered = 0

    def __call__(self, frame: Frame, pose: PoseFrame | None = None) -> None:
        t = frame.t_s
        if self._next_start_t_s is None:
            # First clip once the ring holds some pre-roll.
            self._next_start_t_s = t + min(self.every_s, self.recorder.config.pre_roll_s)
        if self._end_t_s is not None and t >= self._end_t_s:
            self.recorder.end(t)
            self._end_t_s = None
        if t >= self._next_start_t_s:
            name = self.recorder.trigger("exercise", t)
            if name is not None:
                self.triggered += 1
                if self.on_trigger is not None:
                    self.on_trigger(name)
            self._end_t_s = t + self.length_s
            self._next_start_t_s = t + self.every_s


def run_loop(frames: Iterable[Frame], sinks: list[Callable[[Frame, PoseFrame | None], None]],
             stop: threading.Event | None = None, max_frames: int | None = None) -> int:
    n = 0
    for frame in frames:
        for sink in sinks:
            sink(frame, None)
        n += 1
        if (stop is not None and stop.is_set()) or (max_frames is not None and n >= max_frames):
            break
    return n


def main(argv: list[str] | None = None) -> int:
    from appliance.sources.replay import ReplaySource

    p = argparse.ArgumentParser(prog="python -m appliance.bench.clip_schedule", description=__doc__)
    p.add_argument("--state-dir", type=Path, required=True)
    p.add_argument("--clip", type=Path, required=True, help="video file replayed (looped) as the camera")
    p.add_argument("--realtime", action="store_true")
    p.add_argument("--width", type=int, default=160, help="recording width in pixels")
    p.add_argument("--pre-roll", type=float, default=0.3)
    p.add_argument("--post-roll", type=float, default=0.1)
    p.add_argument("--every", type=float, default=0.6, help="a clip every this many seconds of video")
    p.add_argument("--length", type=float, default=0.3, help="trigger→end time of each clip")
    p.add_argument("--gop", type=float, default=0.2)
    p.add_argument("--quota-mb", type=float, default=RetentionConfig.quota_mb)
    p.add_argument("--min-free-mb", type=float, default=0.0)
    p.add_argument("--max-frames", type=int)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    store, clips_dir = open_state_dir(args.state_dir)
    session = store.add_session(Session(time.time(), f"exercise:{args.clip.name}"))
    cfg = RecorderConfig(pre_roll_s=args.pre_roll, post_roll_s=args.post_roll, gop_s=args.gop,
                         max_width_px=args.width)
    with ReplaySource(args.clip, realtime=args.realtime, loop=True) as source:
        recorder = Recorder(clips_dir, cfg, store, session.id, fps=source.info.fps,
                            retention=RetentionConfig(quota_mb=args.quota_mb, min_free_mb=args.min_free_mb),
                            on_clip=lambda c: say(f"CLIP {c.name}"))
        schedule = ClipSchedule(recorder, args.every, args.length, on_trigger=lambda n: say(f"TRIGGER {n}"))
        ready = [False]

        def announce(_frame: Frame, _pose: PoseFrame | None) -> None:
            if not ready[0]:
                ready[0] = True
                say("READY")

        try:
            run_loop(source.frames(), [recorder, schedule, announce], max_frames=args.max_frames)
        finally:
            recorder.close()
            store.close()
    st = recorder.status
    say(f"DONE written={st.clips_written} failed={st.clips_failed} state={st.state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
