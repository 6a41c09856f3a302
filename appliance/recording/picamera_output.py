"""The Pi's hardware-encoder path into the same ``Recorder`` (picamera2; untested off the Pi).

On the Pi the main stream (e.g. 1280×720) is encoded by the VideoCore/ISP H.264 encoder, not by
libx264: picamera2 runs it on its own thread and hands every encoded frame to an ``Output``.
``RecorderOutput`` is that output. It plays the role of picamera2's ``CircularOutput`` (the
pre-trigger ring), but feeds the recorder's own ``PacketRing`` so ring, triggers, post-roll, MP4
muxing, sidecars, the store and retention are exactly the code tested off the Pi::

    from picamera2.encoders import H264Encoder
    encoder = H264Encoder(bitrate=6_000_000, repeat=True, iperiod=round(fps * cfg.gop_s))
    recorder = Recorder(clips_dir, cfg, store, session.id, fps=fps)
    out = RecorderOutput(recorder, StreamFormat(1280, 720, fps), t0_ns=source.t0_ns)
    picam2.start_encoder(encoder, out, name="main")
    # pose sink: recorder.push_pose(pose) — frames are *not* passed to recorder(frame, pose),
    # which would encode them a second time in software.

``repeat=True`` puts SPS/PPS before every keyframe (what ``repeat-headers`` does for x264), so a
clip can start on any keyframe in the ring. Timestamps: picamera2 passes the sensor timestamp in
microseconds; ``t0_ns`` must be the same origin ``PicameraSource`` uses for ``Frame.t_s`` so the
video, the keypoints and the trigger times agree.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from appliance.recording.h264 import EncodedPacket, StreamFormat
from appliance.recording.recorder import Recorder

log = logging.getLogger(__name__)

if importlib.util.find_spec("picamera2") is not None:  # Raspberry Pi OS
    from picamera2.outputs import Output as _Output
else:  # elsewhere: a stand-in base so this module imports (and its maths is testable)
    class _Output:  # type: ignore[no-redef]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            pass


class RecorderOutput(_Output):
    """A picamera2 ``Output`` that pushes each hardware-encoded frame into a ``Recorder``."""

    def __init__(self, recorder: Recorder, fmt: StreamFormat, t0_ns: int | None = None) -> None:
        super().__init__()
        self.recorder = recorder
        self.t0_ns = t0_ns
        recorder.set_format(fmt)

    def to_packet(self, data: bytes, keyframe: bool, timestamp_us: int) -> EncodedPacket:
        ts_ns = int(timestamp_us) * 1000
        if self.t0_ns is None:
            self.t0_ns = ts_ns
        return EncodedPacket(bytes(data), (ts_ns - self.t0_ns) / 1e9, bool(keyframe))

    def outputframe(self, frame: Any, keyframe: bool = True, timestamp: int | None = None,
                    packet: Any = None, audio: bool = False) -> None:
        if audio or timestamp is None:
            return
        self.recorder.push_packet(self.to_packet(frame, keyframe, timestamp))
