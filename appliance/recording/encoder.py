"""Continuous H.264 encoding into packets: the software encoder (PyAV/libx264) used off the Pi.

The recorder never keeps raw frames: every frame is encoded as it arrives and only the compressed
packets go into the pre-trigger ring (a 720p frame is 2.7 MB raw, ~10–30 kB encoded). The GOP is
short (``gop_s``, 1 s by default) so a clip can start on a keyframe at most that long before the
wanted pre-roll. x264 runs with ``tune=zerolatency`` (no B-frames, no look-ahead: one packet out
per frame in, pts == dts) and ``repeat-headers`` (SPS/PPS before every keyframe) so any keyframe in
the ring can open a standalone MP4.

On the Pi the hardware encoder produces the same ``EncodedPacket``s (see ``picamera_output``).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

import av
import cv2
import numpy as np

from appliance.sources.base import Frame

log = logging.getLogger(__name__)

# Packet timestamps are in 1/90000 s (the MPEG clock): exact for 30, 60 and 120 fps and for the
# Pi's microsecond sensor times rounded to ~11 µs.
TIME_BASE = Fraction(1, 90_000)


@dataclass(frozen=True, eq=False)
class EncodedPacket:
    """One compressed frame: ``t_s`` is the capture time of the frame it encodes."""

    data: bytes
    t_s: float
    keyframe: bool

    @property
    def pts(self) -> int:
        return round(self.t_s * TIME_BASE.denominator)

    @property
    def size_bytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class StreamFormat:
    """What the MP4 muxer needs to know about the packets: codec and picture size."""

    width_px: int
    height_px: int
    fps: float
    codec: str = "h264"


class PacketEncoder(Protocol):
    """Turns frames into packets (software) — the Pi's hardware path pushes packets directly."""

    format: StreamFormat

    def encode(self, frame: Frame) -> list[EncodedPacket]: ...

    def close(self) -> None: ...


def scaled_size(width_px: int, height_px: int, max_width_px: int | None) -> tuple[int, int]:
    """Even dimensions (yuv420p needs them), scaled down to ``max_width_px`` keeping the aspect."""
    if max_width_px is not None and width_px > max_width_px:
        height_px = round(height_px * max_width_px / width_px)
        width_px = max_width_px
    return max(2, width_px - width_px % 2), max(2, height_px - height_px % 2)


class SoftwareH264Encoder:
    """libx264 through PyAV, one packet per frame, keyframe every ``gop_s`` seconds."""

    def __init__(self, width_px: int, height_px: int, fps: float, gop_s: float = 1.0,
                 max_width_px: int | None = None, crf: int = 23, preset: str = "ultrafast",
                 threads: int = 1) -> None:
        w, h = scaled_size(width_px, height_px, max_width_px)
        fps = fps if fps > 0 else 30.0
        self.format = StreamFormat(w, h, fps)
        self._gop = max(1, round(gop_s * fps))
        self._crf, self._preset, self._threads = crf, preset, threads
        self._gop_ticks = round(gop_s * TIME_BASE.denominator) - TIME_BASE.denominator // 1000  # 1 ms slack
        self._last_key_pts: int | None = None
        self._ctx = self._open()
        self._last_pts = -1

    def _open(self) -> av.video.codeccontext.VideoCodecContext:
        w, h, fps, gop = self.format.width_px, self.format.height_px, self.format.fps, self._gop
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
        ctx.time_base = TIME_BASE
        ctx.framerate = Fraction(fps).limit_denominator(1001)
        ctx.gop_size = gop
        # One thread by default: the appliance's cores belong to the pose model; ultrafast at the
        # recording size costs a few ms per frame.
        ctx.thread_count = self._threads
        ctx.options = {
            "preset": self._preset,
            "tune": "zerolatency",
            "crf": str(self._crf),
            # Fixed GOP (no scene-cut keyframes) so the ring's keyframe spacing is predictable.
            "x264-params": f"repeat-headers=1:keyint={gop}:min-keyint={gop}:scenecut=0",
        }
        ctx.open()
        return ctx

    def encode(self, frame: Frame) -> list[EncodedPacket]:
        rgb = frame.rgb
        w, h = self.format.width_px, self.format.height_px
        if rgb.shape[1] > w + 1 or rgb.shape[0] > h + 1:
            rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        else:  # odd size only: crop the last row/column (a different size would be a source bug)
            rgb = rgb[:h, :w]
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        pts = round(frame.t_s * TIME_BASE.denominator)
        if pts < self._last_pts - TIME_BASE.denominator:
            # The capture clock went back more than a second (camera reopened, replay restarted):
            # a fresh encoder starts the new timeline on a keyframe.
            self.close()
            self._ctx = self._open()
            self._last_key_pts = None
        elif pts <= self._last_pts:
            # x264 needs strictly increasing pts: a repeated timestamp is nudged one tick forward.
            pts = self._last_pts + 1
        self._last_pts = pts
        vf.pts = pts
        vf.time_base = TIME_BASE
        if self._last_key_pts is None or pts - self._last_key_pts >= self._gop_ticks:
            # Keyframes by capture time, not frame count: when the pipeline drops frames (slow
            # pose off the Pi) a GOP of N frames would last longer than gop_s.
            vf.pict_type = av.video.frame.PictureType.I
            self._last_key_pts = pts
        return [EncodedPacket(bytes(p), float(p.pts * TIME_BASE), bool(p.is_keyframe))
                for p in self._ctx.encode(vf)]

    def close(self) -> None:
        # Drain; zerolatency keeps nothing back, so nothing is lost. Errors mean already drained.
        with contextlib.suppress(av.error.FFmpegError, ValueError):
            self._ctx.encode(None)
