"""The one place LeanCam opens H.264 streams (PyAV/libx264): encoder, packet muxer, MP4 writer.

Three callers used to configure libx264 and MP4 muxing each in their own way (the recorder's
encoder, ``analyze``/``pose --annotate``'s writer and the web upload transcoder). They now share:

- ``SoftwareH264Encoder``: frames → ``EncodedPacket``s. For the recorder it runs with
  ``tune=zerolatency`` (no B-frames, no look-ahead: one packet out per frame in, pts == dts) and
  ``repeat-headers`` (SPS/PPS before every keyframe) so any keyframe in the pre-trigger ring can
  open a standalone MP4. Keyframes are forced by capture time every ``gop_s``.
- ``PacketMuxer``: ``EncodedPacket``s (ours, or the Pi camera's hardware encoder's) → an MP4 file,
  with no re-encoding. The recorder's ``ClipWriter`` adds the crash-safe ``.part``/fsync/rename
  order on top.
- ``Mp4Writer``: RGB frames → ``PATH`` via ``PATH.part`` + rename; a failed write (disk full,
  quota) is an ``OutputError`` naming the file and ``abort()`` leaves any earlier file untouched.

The recorder never keeps raw frames: a 720p frame is 2.7 MB raw, ~10–30 kB encoded.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np

from appliance.errors import BadInputError, output_error
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
    """Turns frames into packets (software) — the Pi camera's encoder pushes packets directly."""

    format: StreamFormat

    def encode(self, frame: Frame) -> list[EncodedPacket]: ...

    def close(self) -> None: ...


def scaled_size(width_px: int, height_px: int, max_width_px: int | None) -> tuple[int, int]:
    """Even dimensions (yuv420p needs them), scaled down to ``max_width_px`` keeping the aspect."""
    if max_width_px is not None and width_px > max_width_px:
        height_px = round(height_px * max_width_px / width_px)
        width_px = max_width_px
    return max(2, width_px - width_px % 2), max(2, height_px - height_px % 2)


def fit_rgb(rgb: np.ndarray, width_px: int, height_px: int) -> av.VideoFrame:
    """An RGB array as a PyAV frame of the encoder's size: scaled down, or cropped by a row/column.

    The scaling runs in OpenCV and the yuv420p conversion in the encoder's swscale; both release
    the GIL (PyAV 18 wraps sws_scale and avcodec_send_frame in ``nogil``), so on the encoder thread
    they do not hold up the pose loop. The frame wraps the array without a copy
    (``from_numpy_buffer``): ``from_ndarray``'s copy holds the GIL, 1.6–4.5 ms per 720p frame on
    this machine, a third of the encoder's time (docs/performance.md).
    """
    if rgb.shape[1] > width_px + 1 or rgb.shape[0] > height_px + 1:
        rgb = cv2.resize(rgb, (width_px, height_px), interpolation=cv2.INTER_AREA)
    else:  # odd size only: crop the last row/column (a different size would be a source bug)
        rgb = rgb[:height_px, :width_px]
    return av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(rgb), format="rgb24")


class SoftwareH264Encoder:
    """libx264 through PyAV, one packet per frame (``low_latency``), keyframe every ``gop_s`` seconds.

    ``low_latency=False`` (the MP4 writer: quality per byte over latency) drops ``zerolatency`` but
    keeps B-frames off, so pts == dts still holds and the muxer needs no reordering.
    """

    def __init__(self, width_px: int, height_px: int, fps: float, gop_s: float = 1.0,
                 max_width_px: int | None = None, crf: int = 23, preset: str = "ultrafast",
                 threads: int = 1, low_latency: bool = True) -> None:
        w, h = scaled_size(width_px, height_px, max_width_px)
        fps = fps if fps > 0 else 30.0
        self.format = StreamFormat(w, h, fps)
        self._gop = max(1, round(gop_s * fps))
        self._crf, self._preset, self._threads, self._low_latency = crf, preset, threads, low_latency
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
        # Fixed GOP (no scene-cut keyframes) so the ring's keyframe spacing is predictable.
        params = f"repeat-headers=1:keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"
        options = {"preset": self._preset, "crf": str(self._crf), "x264-params": params}
        if self._low_latency:
            options["tune"] = "zerolatency"
        ctx.options = options
        ctx.open()
        return ctx

    def encode(self, frame: Frame) -> list[EncodedPacket]:
        vf = fit_rgb(frame.rgb, self.format.width_px, self.format.height_px)
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
            # pose off the Pi, a thinned recording) a GOP of N frames would last longer than gop_s.
            vf.pict_type = av.video.frame.PictureType.I
            self._last_key_pts = pts
        return self._packets(self._ctx.encode(vf))

    @staticmethod
    def _packets(packets: list[av.Packet]) -> list[EncodedPacket]:
        return [EncodedPacket(bytes(p), float(p.pts * TIME_BASE), bool(p.is_keyframe)) for p in packets]

    def flush(self) -> list[EncodedPacket]:
        """The packets the encoder still holds (none with ``low_latency``; look-ahead otherwise)."""
        try:
            return self._packets(self._ctx.encode(None))
        except (av.error.EOFError, ValueError):  # already drained
            return []

    def close(self) -> None:
        # Errors here mean already drained; zerolatency keeps nothing back, so nothing is lost.
        with contextlib.suppress(av.error.FFmpegError, ValueError):
            self._ctx.encode(None)


class PacketMuxer:
    """Writes H.264 ``EncodedPacket``s into an MP4 at ``path`` without re-encoding.

    Timestamps start at 0 on the first packet, which must be a keyframe; a repeated timestamp is
    nudged one tick forward (MP4 needs strictly increasing dts). ``av.open`` creates the file, so
    ENOSPC/EACCES surface as ``OSError`` from the constructor; PyAV's errors subclass ``OSError``.
    """

    def __init__(self, path: Path, fmt: StreamFormat) -> None:
        self.path = path
        self.format = fmt
        self.frames = 0
        self.start_t_s: float | None = None
        self.end_t_s: float | None = None
        self._t0_pts: int | None = None
        self._last_pts = -1
        self._container = av.open(str(path), mode="w", format="mp4")
        try:
            self._stream = self._container.add_mux_stream(fmt.codec, rate=round(fmt.fps) or 30,
                                                          width=fmt.width_px, height=fmt.height_px)
            self._stream.time_base = TIME_BASE
        except BaseException:
            self.close_quietly()
            raise

    def write(self, packet: EncodedPacket) -> None:
        if self._t0_pts is None:
            if not packet.keyframe:
                raise ValueError("an MP4 must start on a keyframe")
            self._t0_pts = packet.pts
            self.start_t_s = packet.t_s
        pts = max(packet.pts - self._t0_pts, self._last_pts + 1)
        self._last_pts = pts
        pkt = av.Packet(packet.data)
        pkt.pts = pkt.dts = pts
        pkt.time_base = TIME_BASE
        pkt.is_keyframe = packet.keyframe
        pkt.stream = self._stream
        self._container.mux(pkt)
        self.frames += 1
        self.end_t_s = packet.t_s

    def close(self) -> None:
        """Write the MP4 index (moov); the file is complete after this."""
        self._container.close()

    def close_quietly(self) -> None:
        """Close after a failure (the disk that failed a write may fail the trailer too)."""
        try:
            self._container.close()
        except (OSError, av.error.FFmpegError, ValueError) as err:
            log.debug("closing the partial %s: %s", self.path, err)


_DROPPED = "; the partial video was removed and an earlier file of that name is left as it was"


class Mp4Writer:
    """Encode RGB frames to ``path`` (yuv420p H.264, even dimensions enforced), via ``path.part``.

    A crash mid-write never leaves a half-written file under the final name.
    """

    def __init__(self, path: Path | str, fps: float, width_px: int, height_px: int) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(self.path.name + ".part")
        if not self.path.parent.is_dir():
            raise BadInputError(f"{self.path.parent}: output folder does not exist")
        fps = fps if fps > 0 else 30.0
        self._period_s = 1.0 / fps
        # Quality per byte matters more than latency here: veryfast, look-ahead on, 8 s GOPs.
        self._encoder = SoftwareH264Encoder(width_px, height_px, fps, gop_s=8.0, crf=23, preset="veryfast",
                                            threads=0, low_latency=False)
        try:
            self._muxer = PacketMuxer(self._tmp, self._encoder.format)
        except OSError as err:
            raise output_error(self.path, err) from err
        self.frames_written = 0

    def write(self, rgb: np.ndarray) -> None:
        frame = Frame(self.frames_written, self.frames_written * self._period_s, rgb)
        try:
            for packet in self._encoder.encode(frame):
                self._muxer.write(packet)
        except OSError as err:  # ENOSPC, EDQUOT, EFBIG, EIO
            raise output_error(self.path, err, _DROPPED) from err
        self.frames_written += 1

    def close(self) -> None:
        """Flush and move the finished file into place (on failure the partial file is removed)."""
        try:
            for packet in self._encoder.flush():
                self._muxer.write(packet)
            self._muxer.close()
            os.replace(self._tmp, self.path)
        except OSError as err:
            self._tmp.unlink(missing_ok=True)
            raise output_error(self.path, err, _DROPPED) from err

    def abort(self) -> None:
        """Drop a partial file (on error), leaving any earlier file at ``path`` untouched."""
        try:
            self._muxer.close_quietly()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
