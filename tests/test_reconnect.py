"""A camera that fails mid-run is reported, retried and resumed without restarting anything.

The 'camera' is the real demo clip behind a seam that fails the way hardware does: it raises
after a few frames (cable kicked), then refuses to open once (still unplugged), then works.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

from appliance.sources.base import Frame
from appliance.sources.reconnect import ReconnectingSource
from appliance.sources.video_file import VideoFileSource


class FlakyCamera(VideoFileSource):
    def __init__(self, path: Path, fail_after: int | None) -> None:
        super().__init__(path)
        self.fail_after = fail_after

    def frames(self) -> Iterator[Frame]:
        for frame in super().frames():
            if self.fail_after is not None and frame.index >= self.fail_after:
                raise OSError(19, "No such device")
            yield frame


def test_fault_retry_resume(demo_clip: Path) -> None:
    opens = iter([("ok", 5), ("absent", None), ("ok", None)])
    events: list[str] = []

    def open_camera() -> FlakyCamera:
        state, fail_after = next(opens)
        if state == "absent":
            raise OSError(2, "camera not found")
        return FlakyCamera(demo_clip, fail_after)

    stop = threading.Event()
    src = ReconnectingSource(open_camera, stop, on_fault=lambda m: events.append("fault"),
                             on_recovered=lambda: events.append("recovered"), retry_s=0.01)
    frames = list(itertools.islice(src.frames(), 12))
    src.close()
    assert events == ["fault", "recovered"]
    assert src.reconnects == 1
    assert [f.index for f in frames] == list(range(12))
    assert all(b.t_s > a.t_s for a, b in itertools.pairwise(frames))


def test_stop_ends_retrying(demo_clip: Path) -> None:
    stop = threading.Event()
    calls = {"n": 0}

    def open_camera() -> VideoFileSource:
        calls["n"] += 1
        if calls["n"] > 1:
            stop.set()  # the user stops the appliance while the camera is gone
            raise OSError(2, "camera not found")
        return FlakyCamera(demo_clip, fail_after=2)

    src = ReconnectingSource(open_camera, stop, retry_s=0.01)
    assert len(list(src.frames())) == 2
