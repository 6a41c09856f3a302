"""The live appliance, assembled: source → pose → analysis → feedback (LEDs, live state).

``LiveAppliance`` owns the parts and their wiring; ``leancam run`` only parses arguments and calls
it. Everything hardware-specific comes in through seams (frame source spec, gpiozero pin factory),
so tests replay a real clip through exactly this code with mock pins.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from appliance import paths
from appliance.analysis.analyzer import LIVE_KEEP, RUN_DRILL, RUN_SOURCE_RESTART, StreamingAnalyzer
from appliance.config import Config, LedConfig
from appliance.errors import LeanCamError
from appliance.feedback.controller import FeedbackController
from appliance.feedback.leds import DrillButton, FeedbackLights, PinMap, make_pin_factory
from appliance.live.notify import ServiceNotifier
from appliance.live.pipeline import Pipeline, PipelineStats
from appliance.live.state import LatestSlot
from appliance.mqtt.sink import MqttSink
from appliance.pose.engine import PoseEngine
from appliance.pose.types import PoseFrame
from appliance.recording.picamera_output import PiCameraRecording
from appliance.recording.recorder import Recorder
from appliance.recording.runs import RunLogger
from appliance.sources.base import Frame, FrameSource
from appliance.sources.factory import open_source
from appliance.sources.picamera import PicameraConfig
from appliance.sources.reconnect import ReconnectingSource
from appliance.store import Store, open_state_dir
from appliance.store.records import Session
from appliance.web import create_app
from appliance.web.server import WebServer, start_web

log = logging.getLogger(__name__)

LIVE_KINDS = ("auto", "picamera", "webcam")  # sources that can fail and come back


@dataclass(frozen=True)
class RunOptions:
    source: str | None = None  # None: the config's camera.source
    realtime: bool = True
    loop: bool | None = None
    threads: int | None = None  # None: the config's pose.num_threads
    max_frames: int | None = None
    duration_s: float | None = None
    web: bool | None = None  # None: the config's web.enabled
    web_port: int | None = None  # None: the config's web.port (0 picks a free port)
    # Keep every frame's capture → LED-update time in ``LiveAppliance.led_latency_s`` (bench live).
    measure_latency: bool = False


def pin_map(cfg: LedConfig) -> PinMap:
    return PinMap(red=cfg.red_pin, amber=cfg.amber_pin, green=cfg.green_pin,
                  button=cfg.button_pin if cfg.button_pin >= 0 else None,
                  buzzer=cfg.buzzer_pin if cfg.buzzer_pin >= 0 else None, button_hold_s=cfg.button_hold_s)


class LiveAppliance:
    def __init__(self, options: RunOptions, config: Config | None = None, pin_factory: object | None = None,
                 engine: PoseEngine | None = None, stop: threading.Event | None = None,
                 config_path: Path | None = None) -> None:
        self.options = options
        self.config = config or Config()
        # The file the settings page edits: the one this config came from (--config) or the default.
        self.config_path = config_path or paths.config_path()
        self.source_spec = options.source or self.config.camera.source
        self.stop = stop or threading.Event()
        self.engine = engine or PoseEngine.from_config(self.config.pose, num_threads=options.threads)
        leds = self.config.leds
        if pin_factory is None:
            pin_factory, _ = make_pin_factory(leds.pin_factory)
        self.lights = FeedbackLights(pin_map(leds), pin_factory=pin_factory, buzzer_on_no_go=leds.buzzer)
        if not self.lights.is_real:
            log.info("LEDs: mock pins (no GPIO on this machine); the web page shows the same lights")
        self.feedback = FeedbackController(self.lights)
        self.button: DrillButton | None = None
        if self.lights.pins.button is not None:
            self.button = DrillButton(self.lights.pins, self.lights.factory, self.press, self.feedback.hold)
        # Set by the drill button (its own thread); the frame loop starts a new run at the next frame.
        self._new_run_requested = threading.Event()
        self.slot = LatestSlot()
        self.notifier = ServiceNotifier()
        self.analyzer: StreamingAnalyzer | None = None
        self.source: FrameSource | None = None
        self.pipeline: Pipeline | None = None
        self.web: WebServer | None = None
        self.store: Store | None = None
        self.recorder: Recorder | None = None
        self.runs: RunLogger | None = None
        self.session: Session | None = None
        self.mqtt: MqttSink | None = None
        # On a Pi with recording on: the camera's own encoder records the main stream.
        self.camera_recording: PiCameraRecording | None = None
        self._reconnecting: ReconnectingSource | None = None
        # capture → lights updated, per frame (seconds), when options.measure_latency is set
        self.led_latency_s: list[float] | None = [] if options.measure_latency else None

    def _camera(self) -> PicameraConfig:
        cam = self.config.camera
        return PicameraConfig(lores_size_px=(cam.lores_width_px, cam.lores_height_px), fps=cam.fps)

    def _camera_recording(self, kind: str) -> PiCameraRecording | None:
        """The Pi path: picamera2's encoder on the main stream, when the source can be the Pi camera."""
        if not self.config.recording.enabled or kind not in ("auto", "picamera"):
            return None
        from appliance.sources.picamera import picamera2_available

        if not picamera2_available():
            return None
        cam = self.config.camera
        return PiCameraRecording(self.config.recording, cam.fps, (cam.lores_width_px, cam.lores_height_px),
                                 offset_s=lambda: self._reconnecting.offset_s if self._reconnecting else 0.0)

    def _open_source(self) -> FrameSource:
        opts = self.options
        spec = self.source_spec
        kind = spec.partition(":")[0]
        self.camera_recording = self._camera_recording(kind)

        def open_it() -> FrameSource:
            return open_source(spec, opts.realtime, opts.loop, camera=self._camera(),
                               camera_recording=self.camera_recording)

        if kind in LIVE_KINDS and not (kind == "auto" and _auto_is_demo()):
            self._reconnecting = ReconnectingSource(open_it, self.stop, on_fault=self.feedback.camera_fault,
                                                    on_recovered=self.feedback.camera_ok)
            return self._reconnecting
        return open_it()

    @property
    def camera_records(self) -> bool:
        """True when the camera's encoder records (frames then never go to the software encoder)."""
        return self.camera_recording is not None and self.camera_recording.started

    def _start_web(self) -> None:
        web = self.config.web
        enabled = web.enabled if self.options.web is None else self.options.web
        if not enabled:
            return
        state = paths.state_dir()
        app = create_app(state_dir=state, slot=self.slot, shown_light=self.feedback.shown_light,
                         led_test=self.feedback.self_test, config_path=self.config_path,
                         max_upload_bytes=web.max_upload_mb * 1_000_000, upload_threads=1, store=self.store,
                         on_config_saved=self._config_saved,
                         recorder_status=(lambda: self.recorder.status) if self.recorder is not None else None)
        port = web.port if self.options.web_port is None else self.options.web_port
        try:
            self.web = start_web(app, web.host, port)
        except OSError as err:
            raise LeanCamError(f"web display: cannot listen on {web.host}:{port} ({err.strerror or err}); "
                               "set [web] port in the config or LEANCAM_WEB_PORT") from err
        log.info("web display on %s", self.web.url)

    def _config_saved(self, config: Config) -> None:
        """The settings page saved the config file: its lean thresholds judge the next strides (the
        analyzer reads ``config.lean`` per stride); camera, LEDs, gait and recording need a restart."""
        if self.analyzer is not None:
            self.analyzer.config = replace(self.analyzer.config, lean=config.lean)
            log.info("lean thresholds from the settings page apply from the next stride")

    def _start_recording(self, source_name: str, fps: float) -> None:
        """Open the store (a clear error if the state dir is unusable) and, if enabled, the recorder."""
        self.store, clips_dir = open_state_dir()
        self.session = self.store.add_session(Session(time.time(), source_name))
        if self.config.recording.enabled:
            # live: the pose loop never waits for the recording's encoder (frames are dropped from
            # the recording instead, and counted), also for a file replayed with --no-realtime.
            self.recorder = Recorder(clips_dir, self.config.recording, self.store, self.session.id,
                                     fps=fps or 30.0, retention=self.config.retention, live=True)
            if self.camera_records:
                assert self.camera_recording is not None
                self.camera_recording.recorder = self.recorder
        self.runs = RunLogger(self.store, self.session.id, self.recorder)

    def _end_session(self) -> None:
        """The long press (docs/live.md): close the open run (its clip ends after the post-roll) and
        the session record, open a new session for whoever runs next, and forget the last runner's
        gait (the analyzer starts over, so their last step is not paired with the next runner's first).

        Runs on the pipeline thread, between two frames, because the run logger, the recorder's
        session and the analyzer belong to it; a database error is logged, feedback goes on."""
        if self.runs is not None:
            self.runs.end()
        if self.store is not None and self.session is not None and self.session.id is not None:
            try:
                self.store.end_session(self.session.id)
                self.session = self.store.add_session(Session(time.time(), self.session.source))
            except sqlite3.Error as err:
                log.warning("session end not stored (%s); runs stay in session %d", err, self.session.id)
        session_id = self.session.id if self.session is not None else None
        if self.recorder is not None:
            self.recorder.start_session(session_id)
        if self.runs is not None:
            self.runs = RunLogger(self.store, session_id, self.recorder)
        if self.mqtt is not None:
            self.mqtt.start_session(session_id)
        if self.analyzer is not None:
            self.analyzer.reset()
        log.info("session ended by long press; session %s started", session_id)

    def _stop_recording(self) -> None:
        """Close runs, the clip in progress and the session; each step even if an earlier one failed."""
        try:
            if self.runs is not None:
                self.runs.end()
        finally:
            try:
                if self.camera_recording is not None:
                    self.camera_recording.recorder = None  # the camera may deliver a few more packets
                if self.recorder is not None:
                    self.recorder.close()
            finally:
                if self.store is not None:
                    if self.session is not None and self.session.id is not None:
                        self.store.end_session(self.session.id)
                    self.store.close()

    # -- MQTT (docs/fleet.md): events through the store's outbox, never blocking this pipeline --------

    def _start_mqtt(self) -> None:
        """With ``[mqtt] enabled``: start the sink (needs the store). A broker that is down or refuses
        the login is logged and retried in the background; the appliance runs on regardless."""
        if not self.config.mqtt.enabled or self.store is None:
            return
        self.mqtt = MqttSink(self.config.mqtt, self.config.unit.name, self.store,
                             self.session.id if self.session is not None else None)
        self.mqtt.start()

    def _feed_mqtt(self, frame: Frame, update: object, state: object) -> None:
        if self.mqtt is None:
            return
        recording = self.recorder is not None and self.recorder.status.state == "recording"
        run = self.runs.run if self.runs is not None else None
        self.mqtt.on_update(frame.t_s, update, state, light=self.lights.current.value, recording=recording,
                            run_id=run.id if run is not None else None)

    def _stop_mqtt(self) -> None:
        if self.mqtt is not None:
            try:
                self.mqtt.close()
            except Exception:  # closing must not keep the store (and the session record) from closing
                log.exception("MQTT: error while closing")
            self.mqtt = None

    def press(self) -> None:
        """The drill button: arm the drill and start a new run (a new runner may be stepping up)."""
        self._new_run_requested.set()
        self.feedback.press()

    def _process(self, frame: Frame) -> PoseFrame:
        """Pose of one frame; a replay's next pass starts without the last pass's pose track."""
        if frame.starts_sequence:
            self.engine.reset()
        return self.engine.process(frame)

    def _sink(self, frame: Frame, pose: PoseFrame) -> None:
        assert self.analyzer is not None and self.pipeline is not None
        if frame.starts_sequence:
            # The replay starts over: nothing of the last pass (runner or site) may carry over.
            self.analyzer.new_run(RUN_SOURCE_RESTART, keep_site=False)
            self._new_run_requested.clear()
        elif self._new_run_requested.is_set():
            self._new_run_requested.clear()
            self.analyzer.new_run(RUN_DRILL)
        if self.feedback.take_session_end():
            self._end_session()
        update = self.analyzer.push(pose)
        self.feedback.on_frame(frame, pose, update)  # the runner's light first: it is the latency budget
        if self.led_latency_s is not None and frame.captured_mono_s is not None:
            self.led_latency_s.append(time.monotonic() - frame.captured_mono_s)
        if self.recorder is not None and self.runs is not None:
            if self.camera_records:
                self.recorder.push_pose(pose)  # the camera's encoder records the main stream
            else:
                self.recorder(frame, pose)  # queued for the recorder's encoder thread
            self.runs.on_update(frame.t_s, update)
        self.notifier.ready()
        stats = self.pipeline
        state = self.slot.publish(source=self.source.info.name if self.source else "", t_s=frame.t_s,
                                  frame_rgb=frame.rgb, landmarks=pose.landmarks, verdict=self.feedback.verdict,
                                  fps=stats.recent_fps, dropped_frames=stats.queue.dropped,
                                  person_in_view=pose.has_pose)
        self._feed_mqtt(frame, update, state)

    def run(self) -> PipelineStats:
        opts = self.options
        with self._open_source() as source:
            self.source = source
            info = source.info
            log.info("source %s: %d×%d at %.2f fps", info.name, info.width_px, info.height_px, info.fps)
            self.analyzer = StreamingAnalyzer(self.config, source_fps=info.fps or None, keep=LIVE_KEEP)
            self._start_recording(info.name, info.fps)
            self._start_mqtt()
            self._start_web()
            self.notifier.status(f"running on {info.name}")
            # Lossless: offline replay (--no-realtime), and the bundled demo (see ReplaySource.demo).
            lossless = not opts.realtime or bool(getattr(source, "demo", False))
            if lossless and opts.realtime:
                log.info("demo clip: every frame is processed (on a slow machine it plays slower than real time)")
            self.pipeline = Pipeline(source, self._process, sinks=[self._sink], stop=self.stop,
                                     on_tick=self.notifier.heartbeat, lossless=lossless)
            try:
                return self.pipeline.run(max_frames=opts.max_frames, duration_s=opts.duration_s)
            finally:
                self.notifier.stopping()
                self._stop_mqtt()
                self._stop_recording()

    def close(self) -> None:
        if self.web is not None:
            self.web.stop()
        if self.button is not None:
            self.button.close()
        self.lights.close()


def _auto_is_demo() -> bool:
    from appliance.sources.picamera import picamera2_available

    return not picamera2_available()
