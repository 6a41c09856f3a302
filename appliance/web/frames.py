"""Single frames of a recorded clip as JPEG, for frame-exact scrubbing in the replay page.

Frame ``i`` is the i-th frame in presentation order (the same numbering as ``VideoFileSource`` and
the pose frames). On first use a clip's packets are demuxed (no decoding) to list every frame's
presentation time. A request for frame ``i`` seeks to the keyframe before it and decodes forward,
caching every decoded frame on the way as a small JPEG, so stepping forward and back costs one
cache lookup; memory is bounded by ``max_cached_frames`` per clip and ``max_clips`` open clips.
Rotation metadata is applied the same way as for analysis, so keypoints line up.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from appliance.errors import BadInputError
from appliance.sources.video_file import frame_rgb
from appliance.web.streams import encode_jpeg

log = logging.getLogger(__name__)

FORWARD_DECODE_LIMIT = 90  # decode forward instead of seeking when the target is this close ahead


class ClipFrames:
    """Random access to the frames of one video file (thread-safe)."""

    def __init__(self, path: Path, width_px: int = 640, max_cached_frames: int = 900) -> None:
        self.path = Path(path)
        self.width_px = width_px
        self.max_cached_frames = max_cached_frames
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._container: av.container.InputContainer | None = None
        self._decoder: Iterator[av.VideoFrame] | None = None
        self._next_index: int | None = None
        try:
            with av.open(str(self.path)) as c:
                stream = c.streams.video[0]
                pts = sorted(p.pts for p in c.demux(stream) if p.pts is not None)
                self._time_base: Fraction = stream.time_base
        except (av.error.FFmpegError, IndexError, ValueError) as err:
            raise BadInputError(f"{self.path.name}: cannot read the video ({err.__class__.__name__})") from err
        if not pts:
            raise BadInputError(f"{self.path.name}: no video frames")
        self._pts = pts
        self._index_of = {p: i for i, p in enumerate(pts)}
        self.times_s = [float((p - pts[0]) * self._time_base) for p in pts]

    @property
    def frame_count(self) -> int:
        return len(self._pts)

    def nearest_index(self, t_s: float) -> int:
        """The frame whose presentation time (from the first frame) is nearest ``t_s``."""
        i = bisect.bisect_left(self.times_s, t_s)
        if i <= 0:
            return 0
        if i >= len(self.times_s):
            return len(self.times_s) - 1
        return i if self.times_s[i] - t_s < t_s - self.times_s[i - 1] else i - 1

    def _open(self) -> av.container.InputContainer:
        if self._container is None:
            self._container = av.open(str(self.path))
            self._container.streams.video[0].thread_type = "AUTO"
        return self._container

    def _encode(self, vf: av.VideoFrame, stream: av.video.stream.VideoStream) -> bytes:
        rgb = frame_rgb(vf, stream)
        h, w = rgb.shape[:2]
        if w > self.width_px:
            rgb = cv2.resize(rgb, (self.width_px, round(h * self.width_px / w)), interpolation=cv2.INTER_AREA)
        return encode_jpeg(np.ascontiguousarray(rgb), quality=80)

    def jpeg(self, index: int) -> bytes:
        """JPEG of frame ``index`` (IndexError if out of range)."""
        if not 0 <= index < len(self._pts):
            raise IndexError(f"frame {index} out of range 0..{len(self._pts) - 1}")
        with self._lock:
            hit = self._cache.get(index)
            if hit is not None:
                self._cache.move_to_end(index)
                return hit
            container = self._open()
            stream = container.streams.video[0]
            ahead = self._next_index is not None and self._next_index <= index < self._next_index + FORWARD_DECODE_LIMIT
            if not ahead or self._decoder is None:
                container.seek(self._pts[index], stream=stream, backward=True, any_frame=False)
                self._decoder = container.decode(stream)
            for vf in self._decoder:
                j = self._index_of.get(vf.pts) if vf.pts is not None else None
                if j is None:
                    continue
                self._next_index = j + 1
                if j > index:  # seek landed after the target (broken index): give up on this frame
                    break
                if j not in self._cache:
                    self._cache[j] = self._encode(vf, stream)
                    while len(self._cache) > self.max_cached_frames:
                        self._cache.popitem(last=False)
                if j == index:
                    return self._cache[j]
            self._decoder = None
            self._next_index = None
            raise IndexError(f"frame {index} could not be decoded")

    def close(self) -> None:
        with self._lock:
            if self._container is not None:
                self._container.close()
                self._container = None
                self._decoder = None


class FrameCache:
    """The few clips being replayed, most recent first (older ones closed)."""

    def __init__(self, max_clips: int = 2, width_px: int = 640) -> None:
        self.max_clips = max_clips
        self.width_px = width_px
        self._clips: OrderedDict[Path, ClipFrames] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> ClipFrames:
        with self._lock:
            clip = self._clips.get(path)
            if clip is not None:
                self._clips.move_to_end(path)
                return clip
        clip = ClipFrames(path, self.width_px)  # demux outside the lock
        with self._lock:
            self._clips[path] = clip
            while len(self._clips) > self.max_clips:
                _, old = self._clips.popitem(last=False)
                old.close()
        return clip

    def forget(self, path: Path) -> None:
        with self._lock:
            clip = self._clips.pop(path, None)
        if clip is not None:
            clip.close()
