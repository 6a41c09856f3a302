"""Web app through Flask's test client: live API/SSE/MJPEG, headers, server start/stop, CLI."""

from __future__ import annotations

import io
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.live.state import LatestSlot, Verdict
from appliance.web import create_app
from appliance.web.reasons import reason_text, verdict_payload
from appliance.web.server import WebServer, start_web
from appliance.web.streams import body_line_px, mjpeg_frames, verdict_events


def _landmarks(w: int = 320, h: int = 240) -> np.ndarray:
    lm = np.zeros((33, 5), np.float32)
    lm[:, 3:] = 1.0
    lm[:, 0] = w / 2
    lm[:, 1] = np.linspace(20, h - 20, 33)
    lm[[7, 8], 1] = 30.0   # ears (head)
    lm[[23, 24], 1] = 120.0  # hips
    lm[[29, 31], 1] = 220.0  # left foot on the ground
    lm[[30, 32], 1] = 180.0  # right foot in the air
    return lm


def _publish(slot: LatestSlot, verdict: Verdict | None = None, i: int = 0) -> None:
    frame = np.full((240, 320, 3), 40 + i % 100, np.uint8)
    slot.publish(source="test", t_s=i / 30, frame_rgb=frame, landmarks=_landmarks(), verdict=verdict,
                 fps=30.0, dropped_frames=0, person_in_view=True)


@pytest.fixture
def slot() -> LatestSlot:
    return LatestSlot()


@pytest.fixture
def app(tmp_path: Path, slot: LatestSlot) -> Flask:
    return create_app(state_dir=tmp_path / "state", slot=slot, config_path=tmp_path / "leancam.toml")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_live_page_renders_board_with_stream_and_events(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'id="word"' in html and "/live/stream.mjpg" in html and "/live/events" in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_security_headers_and_no_external_assets(client: FlaskClient) -> None:
    resp = client.get("/")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    css = client.get("/static/leancam.css").get_data(as_text=True)
    assert "http" not in css


def test_api_live_reports_verdict_in_plain_words(client: FlaskClient, slot: LatestSlot) -> None:
    assert client.get("/api/live").get_json()["verdict"]["light"] == "fault"  # nothing published yet
    v = Verdict("no_go", "stride", ("sitting_back",), 1.0, time.monotonic(), {"lean_deg": 7.26, "cadence_spm": 168})
    _publish(slot, v)
    data = client.get("/api/live").get_json()
    assert data["verdict"]["word"] == "NO-GO"
    assert data["verdict"]["reason_text"] == "hips behind your foot"
    assert data["verdict"]["lean_deg"] == pytest.approx(7.26)
    assert data["status"]["person_in_view"] is True


def test_reason_words() -> None:
    assert reason_text("slouch") == "rounded back"
    assert reason_text("some_new_code") == "some new code"
    assert verdict_payload(None, None)["reason_text"] == "no runner in view"
    assert verdict_payload(Verdict("go", "stride"), None)["word"] == "GO"


def test_body_line_uses_lower_foot() -> None:
    foot, pelvis, head = body_line_px(_landmarks())
    assert foot[1] == pytest.approx(220.0) and pelvis[1] == pytest.approx(120.0) and head[1] == pytest.approx(30.0)


def test_mjpeg_parts_are_jpegs_and_rate_limited(slot: LatestSlot) -> None:
    stop = threading.Event()
    done = threading.Event()

    def producer() -> None:
        i = 0
        while not done.is_set():
            _publish(slot, i=i)
            i += 1
            time.sleep(1 / 60)

    t = threading.Thread(target=producer, daemon=True)
    t.start()
    t0 = time.monotonic()
    parts = list(mjpeg_frames(slot, stop, max_fps=10.0, width_px=160, max_frames=6))
    elapsed = time.monotonic() - t0
    done.set()
    t.join()
    assert len(parts) == 6
    assert parts[0].startswith(b"--leancamframe\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8")
    assert all(p.startswith(b"\xff\xd8") for p in parts[1:])
    assert all(p.endswith(b"\xff\xd9\r\n--leancamframe\r\nContent-Type: image/jpeg\r\n\r\n") for p in parts)
    assert elapsed >= 0.45  # 6 frames at ≤10 fps need ≥0.5 s (first one immediately)


def test_mjpeg_not_encoding_without_new_frames(slot: LatestSlot) -> None:
    stop = threading.Event()
    _publish(slot)
    gen = mjpeg_frames(slot, stop, max_fps=15.0, width_px=160)
    next(gen)  # the newest frame
    threading.Timer(0.3, stop.set).start()
    assert list(gen) == []  # no new frame: nothing encoded, ends on stop


def test_sse_pushes_verdict_change_and_heartbeat(slot: LatestSlot) -> None:
    stop = threading.Event()
    _publish(slot)
    events: list[str] = []
    gen = verdict_events(slot, stop, heartbeat_s=0.3, max_s=1.2)

    def later() -> None:
        time.sleep(0.4)
        _publish(slot, Verdict("go", "stride", (), 1.0, time.monotonic(), {"lean_deg": 12.0}), i=1)

    threading.Thread(target=later, daemon=True).start()
    events = list(gen)
    text = "".join(events)
    assert text.startswith("retry: 1000")
    assert text.count("event: verdict") == 2 and '"light":"go"' in text
    assert ": heartbeat" in text


def test_events_and_stream_404_without_camera(tmp_path: Path) -> None:
    client = create_app(state_dir=tmp_path).test_client()
    assert client.get("/live/events").status_code == 404
    assert client.get("/live/stream.mjpg").status_code == 404
    assert "No camera in this process" in client.get("/").get_data(as_text=True)


def test_snapshot_jpeg(client: FlaskClient, slot: LatestSlot) -> None:
    assert client.get("/live/frame.jpg").status_code == 404
    _publish(slot)
    resp = client.get("/live/frame.jpg")
    assert resp.status_code == 200 and resp.data[:2] == b"\xff\xd8"


def test_waitress_serves_sse_and_stops_with_open_streams(app: Flask, slot: LatestSlot) -> None:
    _publish(slot)
    server = start_web(app, "127.0.0.1", 0)
    try:
        stream = urllib.request.urlopen(server.url + "/live/events", timeout=5)
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        assert stream.readline() == b"retry: 1000\n"
        mjpeg = urllib.request.urlopen(server.url + "/live/stream.mjpg", timeout=5)
        assert mjpeg.headers["Content-Type"].startswith("multipart/x-mixed-replace")
        assert mjpeg.readline().startswith(b"--leancamframe")
    finally:
        t0 = time.monotonic()
        server.stop()
    assert time.monotonic() - t0 < 3.0
    assert not server.thread.is_alive()


def test_stop_survives_the_wake_up_pipe_closing_before_its_write(app: Flask) -> None:
    # Waitress queues the stop's close_all, then writes to its wake-up pipe; a worker waking the
    # loop in between has close_all run first, and it closes the pipe: the write raised EBADF out
    # of stop() (1 run in ~15 of the capped-streams test). Here that order is forced.
    ended = threading.Event()
    loop = threading.Thread(target=ended.wait, args=(5.0,), daemon=True)
    loop.start()

    class Trigger:
        def pull_trigger(self, thunk: Callable[[], None]) -> None:
            thunk()
            ended.set()
            raise OSError(9, "Bad file descriptor")

    class Dispatcher:
        def shutdown(self, timeout: float) -> None:
            pass

    class Server:
        def __init__(self) -> None:
            self.task_dispatcher, self.trigger, self._map = Dispatcher(), Trigger(), {}

    WebServer(app, Server(), loop, "127.0.0.1", 0).stop(timeout_s=1.0)  # type: ignore[arg-type]
    assert not loop.is_alive()


def test_cli_set_password_reads_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.cli import main
    from appliance.web.auth import check_password

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["web", "--state-dir", str(tmp_path), "--set-password"]) == 0
    assert check_password(tmp_path, "correct horse battery")
    assert "scrypt" in (tmp_path / "web_password").read_text()
    assert (tmp_path / "web_password").stat().st_mode & 0o077 == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["web", "--state-dir", str(tmp_path), "--set-password"]) == 2
    assert check_password(tmp_path, "correct horse battery")


def test_verdict_expires_to_ready_like_the_leds() -> None:
    slot = LatestSlot()
    v = Verdict("no_go", "stride", ("slouch",), 1.0, 100.0, {"lean_deg": 9.0})
    _publish(slot, v)
    state = slot.latest()
    assert verdict_payload(v, state, now_mono_s=103.0, hold_s=4.0)["word"] == "NO-GO"
    late = verdict_payload(v, state, now_mono_s=105.0, hold_s=4.0)
    assert late["light"] == "ready" and late["lean_deg"] == 9.0  # last metrics stay readable


def test_board_follows_the_leds_when_it_has_them() -> None:
    slot = LatestSlot()
    v = Verdict("go", "initiation", (), 1.0, 100.0, {"lean_deg": 14.0})
    _publish(slot, v)
    state = slot.latest()
    # Drill mode keeps a verdict on the LEDs until the next press: the board keeps it too.
    assert verdict_payload(v, state, now_mono_s=500.0, hold_s=4.0, shown_light="go")["word"] == "GO"
    # LEDs back to READY / blinking FAULT: so is the board.
    assert verdict_payload(v, state, now_mono_s=101.0, hold_s=4.0, shown_light="ready")["word"] == "READY"
    fault = verdict_payload(v, state, shown_light="fault")
    assert fault["word"] == "WAIT" and fault["reason_text"] == "camera not working"  # person in view, no verdict


def test_sse_follows_led_changes_without_new_frames() -> None:
    from gpiozero.pins.mock import MockFactory

    from appliance.feedback.leds import FeedbackLights, Light

    slot = LatestSlot()
    lights = FeedbackLights(pin_factory=MockFactory())
    lights.show(Light.NO_GO)
    _publish(slot, Verdict("no_go", "stride", ("slouch",), 1.0, time.monotonic()))
    threading.Timer(0.3, lambda: lights.show(Light.READY)).start()
    text = "".join(verdict_events(slot, threading.Event(), heartbeat_s=5.0, max_s=1.2,
                                   shown_light=lambda: lights.current.value))
    lights.close()
    assert text.index('"word":"NO-GO"') < text.index('"word":"READY"')


def test_live_streams_capped_and_released(app: Flask, slot: LatestSlot) -> None:
    _publish(slot)
    deps = app.extensions["leancam"]
    deps.max_mjpeg_clients = 2
    server = start_web(app, "127.0.0.1", 0, threads=6)
    try:
        opened = [urllib.request.urlopen(server.url + "/live/stream.mjpg", timeout=5) for _ in range(2)]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url + "/live/stream.mjpg", timeout=5)
        assert err.value.code == 503
        opened.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the closed stream's slot comes back once the server notices the disconnect
            _publish(slot)
            try:
                opened.append(urllib.request.urlopen(server.url + "/live/stream.mjpg", timeout=5))
                break
            except urllib.error.HTTPError:
                assert time.monotonic() < deadline, "stream slot not released after the client left"
                time.sleep(0.1)
        for r in opened:
            r.close()
    finally:
        server.stop()
