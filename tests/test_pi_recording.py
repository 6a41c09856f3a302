"""The Pi recording path wired into ``leancam run``, through the picamera2 seam.

Off the Pi, a fake ``picamera2`` package stands in for the camera: it records the calls the
appliance makes (stream configuration, which encoder is started on which stream) and, like
picamera2, runs the started encoder on every main-stream frame and hands its output to our
``Output``. The fake encoder produces real H.264 (our libx264 encoder) so the clip that comes out
is a real file. This checks the WIRING only — which encoder each Pi model gets, that pose sees the
lores stream, that the recorder takes the camera's packets and never encodes frames itself, and
the timestamps. The real camera is ``test_real_camera_records_a_clip`` (marked ``hardware``).
"""

from __future__ import annotations

import enum
import importlib.machinery
import json
import sys
import time
import types
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import av
import cv2
import numpy as np
import pytest
from gpiozero.pins.mock import MockFactory

from appliance.config import Config, RecorderConfig
from appliance.live.app import LiveAppliance, RunOptions
from appliance.recording.h264 import SoftwareH264Encoder
from appliance.recording.picamera_output import PiCameraRecording, RecorderOutput, plan_for
from appliance.sources.base import Frame
from appliance.sources.picamera import SensorClock
from appliance.sources.replay import ReplaySource
from appliance.store import Store

SENSOR_T0_NS = 7_000_000_000  # the sensor clock does not start at 0


class FakeEncoder:
    """Like picamera2's encoders: ``encode(stream, request)`` per frame → ``output.outputframe``."""

    def __init__(self, bitrate: int | None = None, repeat: bool = False, iperiod: int = 30,
                 framerate: float = 30.0) -> None:
        self.bitrate, self.repeat, self.iperiod, self.framerate = bitrate, repeat, iperiod, framerate
        self.threads = 0
        self.output: Any = None
        self.firsttimestamp: int | None = None
        self._sw: SoftwareH264Encoder | None = None

    def encode(self, stream: str, request: FakeRequest) -> None:
        ts_us = request.metadata["SensorTimestamp"] // 1000
        if self.firsttimestamp is None:
            self.firsttimestamp = ts_us
        rel_us = ts_us - self.firsttimestamp
        rgb = request.arrays[stream + "_rgb"]
        if self._sw is None:
            fps = self.framerate
            self._sw = SoftwareH264Encoder(rgb.shape[1], rgb.shape[0], fps, gop_s=self.iperiod / fps)
        for p in self._sw.encode(Frame(0, rel_us / 1e6, rgb)):
            self.output.outputframe(p.data, p.keyframe, timestamp=rel_us)


class FakeH264Encoder(FakeEncoder):
    pass


class FakeLibavH264Encoder(FakeEncoder):
    pass


class FakeRequest:
    def __init__(self, metadata: dict[str, int], arrays: dict[str, np.ndarray]) -> None:
        self.metadata, self.arrays = metadata, arrays

    def get_metadata(self) -> dict[str, int]:
        return self.metadata

    def make_array(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def release(self) -> None:
        pass


class FakePicamera2:
    """Records calls; serves the demo clip as main (RGB, for the fake encoder) + lores (I420)."""

    instances: ClassVar[list[FakePicamera2]] = []
    frames_rgb: ClassVar[list[np.ndarray]] = []

    def __init__(self) -> None:
        if FakePicamera2.instances:  # the footage is played once; a reopen finds no camera
            raise RuntimeError("fake camera: already used")
        self.calls: list[tuple[str, Any]] = []
        self.config: dict[str, Any] = {}
        self.encoder: FakeEncoder | None = None
        self.n = 0
        self.started_mono_s = 0.0
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main: dict, lores: dict, controls: dict) -> dict[str, Any]:
        self.calls.append(("create_video_configuration", {"main": main, "lores": lores, "controls": controls}))
        return {"main": dict(main), "lores": dict(lores), "controls": dict(controls)}

    def configure(self, config: dict[str, Any]) -> None:
        self.config = config
        self.calls.append(("configure", None))

    def start(self) -> None:
        self.calls.append(("start", None))
        self.started_mono_s = time.monotonic()

    def start_encoder(self, encoder: FakeEncoder, output: Any, name: str = "main") -> None:
        self.calls.append(("start_encoder", (encoder, output, name)))
        encoder.output = output
        self.encoder = encoder

    def stop_encoder(self) -> None:
        self.calls.append(("stop_encoder", None))
        self.encoder = None

    def stop(self) -> None:
        self.calls.append(("stop", None))

    def close(self) -> None:
        self.calls.append(("close", None))

    def capture_request(self) -> FakeRequest:
        if self.n >= len(self.frames_rgb):
            raise RuntimeError("fake camera: end of the test footage")
        rgb = self.frames_rgb[self.n]
        fps = self.config["controls"]["FrameRate"]
        time.sleep(max(0.0, self.started_mono_s + self.n / fps - time.monotonic()))  # a camera's pace
        ts_ns = SENSOR_T0_NS + round(self.n * 1e9 / fps)
        self.n += 1
        main = cv2.resize(rgb, tuple(self.config["main"]["size"]), interpolation=cv2.INTER_AREA)
        lores = cv2.resize(rgb, tuple(self.config["lores"]["size"]), interpolation=cv2.INTER_AREA)
        req = FakeRequest({"SensorTimestamp": ts_ns},
                          {"main_rgb": main, "lores": cv2.cvtColor(lores, cv2.COLOR_RGB2YUV_I420)})
        if self.encoder is not None:  # picamera2 runs the encoder on every main frame
            self.encoder.encode("main", req)
        return req


def _module(name: str, **attrs: Any) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
    mod.__dict__.update(attrs)
    return mod


class Platform(enum.Enum):
    VC4 = 0
    PISP = 1


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch, demo_clip: Path) -> type[FakePicamera2]:
    frames = []
    with ReplaySource(demo_clip, realtime=False) as src:
        for f in src.frames():
            frames.append(f.rgb)
            if len(frames) == 150:  # 3 s at the camera's 50 fps
                break
    FakePicamera2.instances = []
    FakePicamera2.frames_rgb = frames
    platform = {"value": Platform.VC4}
    pkg = _module("picamera2", Picamera2=FakePicamera2)
    pkg.__path__ = []  # a package, so find_spec("picamera2.x") works
    monkeypatch.setitem(sys.modules, "picamera2", pkg)
    monkeypatch.setitem(sys.modules, "picamera2.encoders",
                        _module("picamera2.encoders", H264Encoder=FakeH264Encoder,
                                LibavH264Encoder=FakeLibavH264Encoder))
    monkeypatch.setitem(sys.modules, "picamera2.outputs", _module("picamera2.outputs", Output=object))
    monkeypatch.setitem(sys.modules, "picamera2.platform",
                        _module("picamera2.platform", Platform=Platform, get_platform=lambda: platform["value"]))
    FakePicamera2.platform = platform  # type: ignore[attr-defined]
    return FakePicamera2


def _run_with_a_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: Config) -> LiveAppliance:
    monkeypatch.setenv("LEANCAM_STATE_DIR", str(tmp_path / "state"))
    app = LiveAppliance(RunOptions(source="picamera", realtime=True, web=False), config=config,
                        pin_factory=MockFactory())
    sink = app._sink
    marks: dict[str, float] = {}

    def sink_with_a_trigger(frame: Frame, pose: Any) -> None:  # a run, wherever the pose model is
        sink(frame, pose)
        assert app.recorder is not None
        if "trigger" not in marks and frame.t_s >= 0.8:
            marks["trigger"] = frame.t_s
            app.test_clip_name = app.recorder.trigger("wiring_test", frame.t_s)  # type: ignore[attr-defined]
        if "end" not in marks and frame.t_s >= 1.2:
            marks["end"] = frame.t_s
            app.recorder.end(frame.t_s)
        if frame.t_s >= 2.5:
            app.stop.set()

    app._sink = sink_with_a_trigger  # type: ignore[method-assign]
    try:
        app.run()
    finally:
        app.close()
    return app


@pytest.mark.parametrize("platform", ["vc4", "pisp"])
def test_leancam_run_records_with_the_cameras_encoder(fake_picamera2: type[FakePicamera2], platform: str,
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_picamera2.platform["value"] = Platform.VC4 if platform == "vc4" else Platform.PISP  # type: ignore[attr-defined]
    rec_cfg = RecorderConfig(pre_roll_s=0.5, post_roll_s=0.3, gop_s=0.5, max_width_px=960, max_fps=30.0)
    config = replace(Config(), recording=rec_cfg)
    app = _run_with_a_clip(tmp_path, monkeypatch, config)
    cam = fake_picamera2.instances[0]
    names = [c[0] for c in cam.calls]
    # configure → start → the encoder on the main stream; at close the encoder stops before the camera.
    assert names[:4] == ["create_video_configuration", "configure", "start", "start_encoder"]
    assert names.index("stop_encoder") < names.index("stop") < names.index("close")
    streams = cam.calls[0][1]
    assert streams["lores"]["size"] == (640, 360) and streams["controls"]["FrameRate"] == 50.0
    encoder, output, name = cam.calls[3][1]
    assert name == "main" and isinstance(output, RecorderOutput) and encoder.repeat is True
    if platform == "vc4":  # Pi 4: the hardware encoder, main stream at 1280×720 and the camera's rate
        assert type(encoder) is FakeH264Encoder
        assert streams["main"]["size"] == (1280, 720) and encoder.iperiod == 25  # 50 fps × 0.5 s
    else:  # Pi 5: libx264 on picamera2's thread, 1 thread, [recording] size, every 2nd frame (25 ≤ 30 fps)
        assert isinstance(encoder, FakeLibavH264Encoder) and type(encoder) is not FakeLibavH264Encoder
        assert encoder.threads == 1 and encoder.framerate == 25.0 and encoder.iperiod == 12
        assert streams["main"]["size"] == (960, 540)
    # Pose saw the lores stream; the recorder took the camera's packets and encoded nothing itself.
    assert app.camera_records and app.slot.latest().frame_rgb.shape == (360, 640, 3)
    assert app.recorder is not None and app.recorder.status.frames_dropped == 0
    assert app.recorder.status.clips_written >= 1, app.recorder.status  # the analysis may start a run too
    store = Store.open(tmp_path / "state" / "leancam.db", readonly=True)
    (clip,) = [c for c in store.clips() if c.name == app.test_clip_name]  # type: ignore[attr-defined]
    store.close()
    clips_dir = tmp_path / "state" / "clips"
    want = (1280, 720) if platform == "vc4" else (960, 540)
    assert (clip.width_px, clip.height_px) == want
    side = json.loads((clips_dir / clip.sidecar_file).read_text())
    assert ("H264Encoder (VideoCore" in side["recording"]["encoder"]) == (platform == "vc4")
    # Same time axis as the lores frames: pre-roll before the trigger (ours at ≥ 0.8 s, or an
    # earlier one of the analysis that our trigger extended).
    assert 0.0 <= clip.start_t_s < side["trigger"]["t_s"] <= clip.end_t_s
    assert side["keypoints"] and side["keypoints"][0]["t_s"] >= clip.start_t_s - 1e-6
    with av.open(str(clips_dir / clip.video_file)) as c:
        assert sum(1 for _ in c.decode(video=0)) == clip.frames > 0
    period = 1 / 50 if platform == "vc4" else 1 / 25
    assert clip.frames == pytest.approx((clip.end_t_s - clip.start_t_s) / period + 1, abs=1)


def test_recorder_output_restores_the_sensor_time_picamera2_makes_relative() -> None:
    clock = SensorClock()
    assert clock.t_s(5_000_000_000) == 0.0  # the lores stream's first frame sets the origin

    class Enc:
        firsttimestamp = 5_200_000  # µs: the encoder started 0.2 s after the lores stream

    got = []
    out = RecorderOutput(got.append, clock, Enc(), offset_s=lambda: 10.0)
    out.outputframe(b"\0\0\0\1\x65", keyframe=True, timestamp=1_300_000)  # 1.3 s after the encoder's first
    assert got[0].t_s == pytest.approx(10.0 + 1.5) and got[0].keyframe
    out.outputframe(b"", keyframe=False, timestamp=None)  # no timestamp: ignored
    assert len(got) == 1


def test_plan_keeps_the_pi5_within_the_software_budget() -> None:
    cfg = RecorderConfig()
    pi4 = plan_for("vc4", cfg, 50.0)
    assert (pi4.main_size_px, pi4.recorded_fps, pi4.keep_every_n_frames, pi4.software_threads) == (
        (1280, 720), 50.0, 1, None)
    pi5 = plan_for("pisp", cfg, 50.0)
    assert pi5.recorded_fps <= cfg.max_fps and pi5.keep_every_n_frames == 2 and pi5.software_threads == 1
    assert plan_for("pisp", replace(cfg, max_fps=0.0), 50.0).keep_every_n_frames == 1
    # main can never be smaller than the pose stream it is scaled to
    assert plan_for("pisp", replace(cfg, max_width_px=320), 30.0, (640, 360)).main_size_px == (640, 360)


@pytest.mark.hardware
def test_real_camera_records_a_clip(tmp_path: Path) -> None:  # pragma: no cover - Pi only
    """On a Pi: the appliance's own wiring with the real camera and the model's real encoder."""
    from appliance.recording.recorder import Recorder
    from appliance.sources.picamera import PicameraConfig, PicameraSource

    cfg = RecorderConfig(pre_roll_s=1.0, post_roll_s=0.5)
    store = Store.open(tmp_path / "leancam.db")
    rec = Recorder(tmp_path, cfg, store, fps=30, live=True)
    recording = PiCameraRecording(cfg, 30.0)
    with PicameraSource(PicameraConfig(fps=30.0), recording=recording) as source:
        recording.recorder = rec
        t_end = time.monotonic() + 4.0
        for frame in source.frames():
            if frame.t_s >= 2.0 and rec.status.state == "idle":
                rec.trigger("hardware_test", frame.t_s)
            if frame.t_s >= 3.0:
                rec.end(frame.t_s)
            if time.monotonic() > t_end:
                break
    rec.close()
    (clip,) = store.clips()
    with av.open(str(tmp_path / clip.video_file)) as c:
        assert sum(1 for _ in c.decode(video=0)) == clip.frames >= 30
    store.close()
