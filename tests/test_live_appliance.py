"""The live appliance end to end on real footage with mock LEDs: what a runner would have seen.

The clip is replayed through exactly the code ``leancam run`` uses (LiveAppliance): real decoding,
the real pose model, the real analysis, gpiozero's MockFactory standing in for the pins.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.feedback.leds import Light
from appliance.live.app import LiveAppliance, RunOptions
from appliance.live.state import Verdict
from appliance.web.reasons import REASONS


def run_clip(path: Path, **kw: object) -> LiveAppliance:
    factory = MockFactory()
    kw.setdefault("web", False)
    app = LiveAppliance(RunOptions(source=f"file:{path}", realtime=False, **kw), pin_factory=factory)
    try:
        stats = app.run()
    finally:
        app.close()
    assert stats.frames_dropped == 0  # offline replay is lossless
    return app


@pytest.mark.slow
def test_sprint_start_drives_leds(shared_data: Path) -> None:
    app = run_clip(shared_data / "sprint_starts" / "b2.mp4")
    lights = [c.light for c in app.lights.changes]
    assert lights[0] == Light.READY  # switched on, waiting
    # A sprint start is seen: at least one judged verdict (start or stride) reaches the lights.
    assert any(light in (Light.GO, Light.NO_GO, Light.UNSURE) for light in lights)
    assert app.feedback.latency, "every verdict records its latency"
    for sample in app.feedback.latency:
        assert sample.decision_to_led_s >= 0
        assert sample.decided_frame_index >= sample.event_frame_index


def run_source(spec: str | None, **kw: object) -> tuple[LiveAppliance, MockFactory, list[Verdict]]:
    """Replay ``spec`` (None: the config's default, ``auto``) as ``leancam run --no-realtime --no-loop
    --no-web`` would, with mock pins; returns the appliance, its pins and every verdict the board got."""
    factory = MockFactory()
    app = LiveAppliance(RunOptions(source=spec, realtime=False, loop=False, web=False, **kw), pin_factory=factory)
    shown: list[Verdict] = []
    publish = app.slot.publish

    def recording_publish(**fields: object) -> object:
        verdict = fields.get("verdict")
        if verdict is not None and (not shown or shown[-1] is not verdict):
            shown.append(verdict)
        return publish(**fields)

    app.slot.publish = recording_publish  # type: ignore[method-assign]
    try:
        stats = app.run()
    finally:
        app.close()
    assert stats.frames_dropped == 0  # offline replay is lossless
    return app, factory, shown


@pytest.mark.slow
def test_running_demo_by_default_lights_go_or_no_go_with_reasons() -> None:
    """A fresh machine's `leancam run` (no camera: the bundled running demo) judges real strides."""
    app, factory, shown = run_source(None)  # the default source: auto → no Pi camera here → the running demo
    assert app.source is not None and app.source.info.name == "file:male_side.mp4"
    lights = [c.light for c in app.lights.changes]
    assert Light.GO in lights or Light.NO_GO in lights, f"LED changes: {[light.value for light in lights]}"
    # The pins themselves, not only the change log: green or red was driven high at least once.
    pins = app.lights.pins
    driven = {name for name, number in (("green", pins.green), ("red", pins.red))
              if any(state.state for state in factory.pin(number).states)}
    assert driven, "neither the green nor the red pin was ever on"
    judged = [v for v in shown if v.light in ("go", "no_go") and v.kind == "stride"]
    assert judged, "the board never showed a judged stride"
    # Every no-go says why, in words the board knows (not the raw-code fallback).
    for v in judged:
        if v.light == "no_go":
            assert v.reasons and all(code in REASONS for code in v.reasons), v.reasons


def test_walking_demo_never_shows_go_or_no_go() -> None:
    """`--source demo:walk`, the Sports2D walker: walking is reported, never judged as running."""
    app, _, shown = run_source("demo:walk")
    lights = {c.light for c in app.lights.changes}
    assert Light.GO not in lights and Light.NO_GO not in lights
    assert not [v for v in shown if v.light in ("go", "no_go")]
    assert app.slot.latest() is not None and app.slot.latest().source == "file:demo.mp4"


def test_run_serves_the_web_display(demo_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`leancam run` wiring: the web display is served from the appliance's own slot while it runs."""
    import json
    import threading
    import time
    import urllib.request

    monkeypatch.setenv("LEANCAM_STATE_DIR", str(tmp_path))
    app = LiveAppliance(RunOptions(source=f"file:{demo_clip}", realtime=True, loop=True, web=True, web_port=0,
                                   duration_s=20), pin_factory=MockFactory())
    runner = threading.Thread(target=app.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 15
        state = None
        while time.monotonic() < deadline:
            if app.web is not None and app.slot.latest() is not None:
                with urllib.request.urlopen(app.web.url + "/api/live", timeout=5) as resp:
                    state = json.loads(resp.read())
                if state["status"]["source"] == "file:demo.mp4":
                    break
            time.sleep(0.2)
        assert state is not None and state["status"]["source"] == "file:demo.mp4"
        assert state["verdict"]["light"] in ("ready", "fault", "unsure", "go", "no_go")
    finally:
        app.stop.set()
        runner.join(10)
        app.close()


class _CachedPose:
    """The real engine's output for this clip, computed once per session (conftest.pose_frames) and
    handed back frame by frame, so seven clips replay through the live wiring in seconds."""

    def __init__(self, frames: list) -> None:
        self._frames = frames

    def process(self, frame: object) -> object:
        return self._frames[frame.index]  # type: ignore[attr-defined]

    def reset(self) -> None:
        pass


@pytest.mark.parametrize("name", ["b2", "b3", "b4", "b5", "b6", "b7", "b8"])
def test_sprint_start_light_sequence_matches_labels(shared_data: Path, pose_frames: object, name: str) -> None:
    """READY while the sprinter is set, then the start's own verdict within 2 frames of the labelled
    block clearance (the clip authors' first label row), decided and shown within a few frames."""
    clip = shared_data / "sprint_starts" / f"{name}.mp4"
    clearance = int((shared_data / "sprint_starts" / f"{name}.csv").read_text().splitlines()[1].split(",")[0])
    app = LiveAppliance(RunOptions(source=f"file:{clip}", realtime=False, web=False), pin_factory=MockFactory(),
                        engine=_CachedPose(pose_frames(clip)))  # type: ignore[arg-type]
    try:
        app.run()
    finally:
        app.close()
    lights = [c.light for c in app.lights.changes]
    assert lights[0] == Light.READY
    first = app.feedback.latency[0]
    assert first.kind == "initiation", "the first thing judged on a sprint start is the start itself"
    assert abs(first.event_frame_index - clearance) <= 2
    assert first.decided_frame_index - first.event_frame_index <= 10
    judged = [i for i, light in enumerate(lights) if light in (Light.GO, Light.NO_GO, Light.UNSURE)]
    assert judged and all(light in (Light.READY, Light.FAULT) for light in lights[: judged[0]])


def test_long_press_ends_the_session(shared_data: Path, pose_frames: object) -> None:
    """docs/live.md: a long press ends the session — the open run and the session record are closed,
    a new session takes what follows, and the analysis starts over (no stride spans the press)."""
    import time

    from appliance import paths
    from appliance.config import Config, LedConfig
    from appliance.store import Store

    clip = shared_data / "sprint_starts" / "b2.mp4"
    frames = pose_frames(clip)  # type: ignore[operator]
    pressed_at: list[float] = []  # capture time of the frame the long press came on
    factory = MockFactory()
    config = Config(leds=LedConfig(button_hold_s=0.1))  # recording on: runs are logged with the recorder
    app: LiveAppliance

    class PressMidway(_CachedPose):
        """Holds the button down, once a run is open, until the controller saw the long press."""

        def process(self, frame: object) -> object:
            if not pressed_at and app.runs is not None and app.runs.run is not None:
                pressed_at.append(frame.t_s)  # type: ignore[attr-defined]
                pin = factory.pin(config.leds.button_pin)
                pin.drive_low()
                deadline = time.monotonic() + 5  # gpiozero's thread calls hold() after button_hold_s
                while not app.feedback._session_end_requested and time.monotonic() < deadline:
                    time.sleep(0.01)
                pin.drive_high()
            return super().process(frame)

    app = LiveAppliance(RunOptions(source=f"file:{clip}", realtime=False, web=False), config=config,
                        pin_factory=factory, engine=PressMidway(frames))  # type: ignore[arg-type]
    try:
        app.run()
    finally:
        app.close()
    assert pressed_at, "the sprinter opens a run"
    press_t_s = pressed_at[0]
    with Store.open(paths.database_path(), readonly=True) as store:
        sessions = store.sessions()
        assert len(sessions) == 2, "the long press closes the session and opens the next"
        assert all(s.ended_at_s is not None for s in sessions)
        first_runs = store.runs(sessions[0].id)
        assert first_runs
        assert all(r.end_t_s is not None and r.end_t_s <= press_t_s for r in first_runs)
        assert all(r.start_t_s >= press_t_s for r in store.runs(sessions[1].id))
    assert app.analyzer is not None
    assert all(s.step.contact.t_s >= press_t_s for s in app.analyzer.strides), "the analysis started over"
