"""The Pi camera's own H.264 encoder feeding the ``Recorder`` (picamera2), as ``leancam run`` wires it.

On a Pi the pose model reads the small lores stream while the main stream (1280×720) is recorded.
picamera2 encodes the main stream on its own thread and hands every encoded frame to an
``Output``; ``RecorderOutput`` is that output. It plays the role of picamera2's ``CircularOutput``
(the pre-trigger ring) but pushes packets into the recorder's own ``PacketRing``, so triggers,
post-roll, MP4 muxing, sidecars, the store and retention are the code tested off the Pi. The pose
sink then only calls ``recorder.push_pose`` (``recorder(frame, pose)`` would encode a second time).

Which encoder runs where (``plan_for``):

- Pi 4, 3, Zero 2 W (picamera2 platform VC4): ``H264Encoder``, the VideoCore hardware encoder
  (V4L2), records the 1280×720 main stream at the camera's rate; no CPU cost to speak of.
- Pi 5 (platform PiSP: no H.264 hardware): ``LibavH264Encoder``, libx264 on picamera2's encoder
  thread with 1 thread, records the main stream at ``[recording] max_width_px`` and keeps every
  n-th frame so the rate stays at or below ``[recording] max_fps`` (the software budget).

Both use ``repeat=True`` (SPS/PPS before every keyframe, x264's ``repeat-headers``) so a clip
can start on any keyframe in the ring, and a keyframe every ``gop_s``.

Timestamps: picamera2 passes each frame's ``SensorTimestamp`` in µs *since the encoder's first
frame* (``encoder.firsttimestamp`` holds that first one). ``RecorderOutput`` adds it back and maps
it through the ``SensorClock`` the lores frames use, so video, keypoints and triggers share one
time axis (plus the reconnect offset of ``ReconnectingSource``).
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.config.sections import RecorderConfig
from appliance.recording.h264 import EncodedPacket, StreamFormat, scaled_size
from appliance.recording.recorder import Recorder
from appliance.sources.picamera import SensorClock

log = logging.getLogger(__name__)

if importlib.util.find_spec("picamera2") is not None:  # Raspberry Pi OS
    from picamera2.outputs import Output as _Output
else:  # elsewhere: a stand-in base so this module imports (and its maths is testable)
    class _Output:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass

MAIN_STREAM_PX = (1280, 720)


@dataclass(frozen=True)
class PiRecordingPlan:
    """What the camera records on this Pi model, and with which encoder."""

    platform: str  # "vc4" (Pi 4 and earlier) | "pisp" (Pi 5)
    encoder_name: str
    main_size_px: tuple[int, int]
    keep_every_n_frames: int  # 1: every frame; 2: every other (Pi 5 software budget)
    recorded_fps: float
    iperiod_frames: int
    bitrate_bps: int
    software_threads: int | None  # libx264 threads on the Pi 5; None: hardware


def plan_for(platform: str, cfg: RecorderConfig, camera_fps: float,
             lores_size_px: tuple[int, int] = (640, 360)) -> PiRecordingPlan:
    """The encoder and stream size for a Pi model; the Pi 5 keeps to the software budget."""
    camera_fps = camera_fps if camera_fps > 0 else 30.0
    bitrate = cfg.bitrate_kbps * 1000
    if platform == "vc4":
        return PiRecordingPlan("vc4", "picamera2 H264Encoder (VideoCore hardware)", MAIN_STREAM_PX, 1, camera_fps,
                               max(1, round(camera_fps * cfg.gop_s)), bitrate, None)
    w, h = scaled_size(*MAIN_STREAM_PX, cfg.max_width_px)
    # The lores stream is scaled from main, so main can be no smaller than lores.
    w, h = max(w, lores_size_px[0]), max(h, lores_size_px[1])
    keep = 1 if cfg.max_fps <= 0 else max(1, math.ceil(camera_fps / cfg.max_fps - 1e-9))
    fps = camera_fps / keep
    return PiRecordingPlan("pisp", "picamera2 LibavH264Encoder (libx264, software)", (w, h), keep, fps,
                           max(1, round(fps * cfg.gop_s)), bitrate, 1)


def detect_platform() -> str:
    """picamera2's platform: "vc4" (hardware H.264) or "pisp" (Pi 5, none)."""
    try:
        from picamera2.platform import Platform, get_platform
    except ImportError:  # picamera2 from before the Pi 5: only VC4 existed
        return "vc4"
    return "vc4" if get_platform() == Platform.VC4 else "pisp"


class RecorderOutput(_Output):
    """A picamera2 ``Output`` that turns each encoded frame into an ``EncodedPacket`` for ``push``."""

    def __init__(self, push: Callable[[EncodedPacket], None], clock: SensorClock, encoder: Any = None,
                 offset_s: Callable[[], float] = lambda: 0.0) -> None:
        super().__init__()
        self.push = push
        self.clock = clock
        self.encoder = encoder
        self.offset_s = offset_s

    def to_packet(self, data: bytes, keyframe: bool, timestamp_us: int) -> EncodedPacket:
        first_us = getattr(self.encoder, "firsttimestamp", None)
        sensor_ns = (int(timestamp_us) + int(first_us or 0)) * 1000
        return EncodedPacket(bytes(data), self.clock.t_s(sensor_ns) + self.offset_s(), bool(keyframe))

    def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                    packet: Any = None, audio: bool = False) -> None:
        if audio or timestamp is None:
            return
        self.push(self.to_packet(frame, keyframe, timestamp))


def _make_encoder(plan: PiRecordingPlan) -> Any:
    """picamera2's encoder for ``plan`` (imported here: picamera2 exists only on the Pi)."""
    if plan.platform == "vc4":
        from picamera2.encoders import H264Encoder

        return H264Encoder(bitrate=plan.bitrate_bps, repeat=True, iperiod=plan.iperiod_frames)
    from picamera2.encoders import LibavH264Encoder

    keep = plan.keep_every_n_frames

    class ThinnedLibavH264Encoder(LibavH264Encoder):  # type: ignore[misc, valid-type]
        """Encodes every ``keep``-th frame: the Pi 5's CPU budget for recording (issue 17)."""

        _seen = -1

        def encode(self, stream: Any, request: Any) -> None:
            self._seen += 1
            if self._seen % keep == 0:
                super().encode(stream, request)

    enc = ThinnedLibavH264Encoder(bitrate=plan.bitrate_bps, repeat=True, iperiod=plan.iperiod_frames,
                                  framerate=plan.recorded_fps)
    enc.threads = plan.software_threads
    return enc


class PiCameraRecording:
    """Starts the camera's encoder on the main stream whenever ``PicameraSource`` opens the camera.

    ``PicameraSource`` calls ``start(cam, clock)`` after configuring (and again after every
    reconnect) and ``stop(cam)`` before closing. Packets go to ``recorder`` once it is attached
    (the appliance opens the store after the source); earlier ones are ignored.
    """

    def __init__(self, cfg: RecorderConfig, camera_fps: float, lores_size_px: tuple[int, int] = (640, 360),
                 offset_s: Callable[[], float] = lambda: 0.0, platform: str | None = None) -> None:
        self.cfg = cfg
        self.camera_fps = camera_fps
        self.offset_s = offset_s
        self.plan = plan_for(platform or detect_platform(), cfg, camera_fps, lores_size_px)
        self.main_size_px = self.plan.main_size_px
        self.started = False
        self._recorder: Recorder | None = None
        self.output: RecorderOutput | None = None

    @property
    def format(self) -> StreamFormat:
        w, h = self.plan.main_size_px
        return StreamFormat(w, h, self.plan.recorded_fps)

    @property
    def recorder(self) -> Recorder | None:
        return self._recorder

    @recorder.setter
    def recorder(self, recorder: Recorder | None) -> None:
        if recorder is not None:
            recorder.set_format(self.format)
            recorder.encoder_name = self.plan.encoder_name
        self._recorder = recorder

    def _push(self, packet: EncodedPacket) -> None:
        rec = self._recorder
        if rec is not None:
            rec.push_packet(packet)

    def start(self, cam: Any, clock: SensorClock) -> None:
        encoder = _make_encoder(self.plan)
        self.output = RecorderOutput(self._push, clock, encoder, self.offset_s)
        cam.start_encoder(encoder, self.output, name="main")
        self.started = True
        log.info("recording the main stream %d×%d at %.1f fps with %s", *self.plan.main_size_px,
                 self.plan.recorded_fps, self.plan.encoder_name)

    def stop(self, cam: Any) -> None:
        if self.output is not None:
            cam.stop_encoder()
            self.output = None
