"""Video files decoded with PyAV: presentation timestamps, rotation metadata, variable frame rate.

Times come from each frame's pts (not index / fps), so variable-frame-rate phone clips keep their
real timing. Rotation metadata (phones record portrait as rotated landscape) is applied so the
runner is upright.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np

from appliance.errors import BadInputError, check_input_file
from appliance.sources.base import Frame, SourceInfo

log = logging.getLogger(__name__)

# Frames larger than this are refused: an 8K phone clip would need ~100 MB per RGB frame here and
# the pose model works on a 256 px crop anyway.
MAX_PIXELS = 4096 * 2304


def _rotation_deg(stream: av.video.stream.VideoStream, frame: av.VideoFrame | None) -> int:
    """Clockwise rotation needed to display the frame upright (0, 90, 180, 270)."""
    rot = 0
    if frame is not None and getattr(frame, "rotation", None):
        # PyAV ≥ 13 exposes the display-matrix angle (counter-clockwise, degrees).
        rot = -int(frame.rotation)
    elif "rotate" in stream.metadata:
        rot = int(stream.metadata["rotate"])
    return rot % 360


def mp4_cut_short(path: Path) -> tuple[int, int] | None:
    """``(bytes present, bytes the top-level MP4/MOV boxes declare)`` when the file was cut off, else None.

    An MP4 whose index (``moov``) comes after the media data cannot be opened at all once the end
    is missing; FFmpeg then only says "moov atom not found". Walking the top-level box sizes tells
    a truncated copy from a file that is not a video, so the user hears the real cause.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            pos = 0
            while pos + 8 <= size:
                fh.seek(pos)
                head = fh.read(16)
                box_size = int.from_bytes(head[:4], "big")
                kind = head[4:8]
                if pos == 0 and kind != b"ftyp":
                    return None  # not an ISO media file: nothing to say
                if box_size == 1 and len(head) >= 16:
                    box_size = int.from_bytes(head[8:16], "big")
                elif box_size == 0:
                    return None  # "to the end of the file": cannot be short
                if box_size < 8:
                    return None  # not a box structure we understand
                if pos + box_size > size:
                    return size, pos + box_size
                pos += box_size
    except OSError:
        return None
    return None


# YUV → RGB with libswscale's portable C code: its default SIMD paths round differently on x86
# and on the Pi's arm64 (1 level in ~79 % of values on the demo clip), so the same file gave the
# pose model different pixels, and different keypoints, on different CPUs. BITEXACT with
# ACCURATE_RND gives the same bytes on both (checked: the demo clip's first 20 frames hash the
# same on x86 and under arm64 emulation) at about twice the conversion time (x86: 9.6 → 20 ms for
# a 1768×994 frame). The Pi's camera delivers RGB from its ISP and never comes here.
PORTABLE_RGB = av.video.reformatter.Interpolation.BITEXACT | av.video.reformatter.Interpolation.ACCURATE_RND


def frame_rgb(vf: av.VideoFrame, stream: av.video.stream.VideoStream) -> np.ndarray:
    """The frame as upright HxWx3 uint8 RGB, the same bytes on every CPU."""
    return _upright(vf.to_ndarray(format="rgb24", interpolation=PORTABLE_RGB), _rotation_deg(stream, vf))


def _upright(rgb: np.ndarray, rotation_deg: int) -> np.ndarray:
    if rotation_deg == 90:
        return np.ascontiguousarray(np.rot90(rgb, k=-1))
    if rotation_deg == 180:
        return np.ascontiguousarray(rgb[::-1, ::-1])
    if rotation_deg == 270:
        return np.ascontiguousarray(np.rot90(rgb, k=1))
    return rgb


class VideoFileSource:
    """Decode a video file frame by frame; raises BadInputError for anything unreadable."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        check_input_file(self.path)
        if self.path.stat().st_size == 0:
            raise BadInputError(f"{self.path}: empty file (0 bytes)")
        try:
            self._container = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
            cut = mp4_cut_short(self.path)
            if cut is not None:
                raise BadInputError(
                    f"{self.path}: the file ended early: {cut[0]} of the {cut[1]} bytes it declares are there, "
                    "and its index (the MP4 'moov' box) was in the missing part, so no frame can be read "
                    "(truncated, e.g. an interrupted copy)") from err
            raise BadInputError(f"{self.path}: not a readable video ({err.__class__.__name__})") from err
        if not self._container.streams.video:
            self._container.close()
            raise BadInputError(f"{self.path}: contains no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        ctx = self._stream.codec_context
        if ctx.width * ctx.height > MAX_PIXELS:
            self._container.close()
            raise BadInputError(f"{self.path}: {ctx.width}×{ctx.height} frames are too large (max 4096×2304)")
        rate = self._stream.average_rate or self._stream.guessed_rate
        fps = float(rate) if rate else 0.0
        rot = _rotation_deg(self._stream, None)
        w, h = (ctx.height, ctx.width) if rot in (90, 270) else (ctx.width, ctx.height)
        self.info = SourceInfo(self.path.name, w, h, fps, self._stream.frames or None)
        # After ``frames()`` has run to the end: how many frames were decoded. Compared with the
        # count the container declares (``info.frame_count``) it tells a file cut off early.
        self.frames_read: int | None = None

    @property
    def ended_early(self) -> bool:
        """True once a full pass decoded fewer frames than the container declares (a truncated file)."""
        declared = self.info.frame_count
        return self.frames_read is not None and declared is not None and self.frames_read < declared

    def ended_early_message(self) -> str | None:
        """One line for the user when the file ended early, else None.

        A copy cut off mid-transfer still opens (the MP4 index is at the front) and decodes up to
        the cut without an error, so without this the analysis would quietly cover only part of it.
        """
        if not self.ended_early:
            return None
        return (f"{self.path}: the file ended early: {self.frames_read} frames read of the "
                f"{self.info.frame_count} the container declares (truncated, e.g. an interrupted copy)")

    def frames(self) -> Iterator[Frame]:
        t0: float | None = None
        index = 0
        self.frames_read = None
        try:
            for vf in self._container.decode(self._stream):
                rgb = frame_rgb(vf, self._stream)
                t = vf.time if vf.time is not None else index / (self.info.fps or 30.0)
                t0 = t if t0 is None else t0
                yield Frame(index, float(t - t0), rgb)
                index += 1
        except av.error.FFmpegError as err:
            if index == 0:
                raise BadInputError(f"{self.path}: could not decode any frame ({err})") from err
            # A truncated file still gives us the frames before the damage.
            log.warning("%s: decoding stopped after %d frames: %s", self.path, index, err)
        if index == 0:
            raise BadInputError(f"{self.path}: contains no decodable video frames")
        self.frames_read = index
        if self.ended_early:  # the command or the replay tells the user (see ended_early_message)
            log.debug("%s", self.ended_early_message())

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
