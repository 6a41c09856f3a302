"""Settings behind a password: scrypt hash, CSRF, cookie flags, rate limit, config writes, LED test."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.web import create_app
from appliance.web.auth import SlidingWindowLimiter, set_password
from appliance.web.settings import load_unit_settings, to_toml

PASSWORD = "track-side-secret"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    d = tmp_path / "state"
    set_password(d, PASSWORD)
    return d


@pytest.fixture
def app(tmp_path: Path, state: Path) -> Flask:
    return create_app(state_dir=state, config_path=tmp_path / "leancam.toml")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _csrf(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


def _login(client: FlaskClient, password: str = PASSWORD) -> object:
    token = _csrf(client, "/settings/login")
    return client.post("/settings/login", data={"password": password, "csrf_token": token})


def test_settings_need_login(client: FlaskClient) -> None:
    resp = client.get("/settings/")
    assert resp.status_code == 302 and "/settings/login" in resp.headers["Location"]


def test_live_and_replay_are_open(client: FlaskClient) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/replay/").status_code == 200
    assert client.get("/api/live").status_code == 200


def test_password_stored_as_scrypt_hash(state: Path) -> None:
    stored = (state / "web_password").read_text()
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_wrong_password_refused(client: FlaskClient) -> None:
    resp = _login(client, "not-the-password")
    assert resp.status_code == 401
    assert "Wrong password" in resp.get_data(as_text=True)
    assert client.get("/settings/").status_code == 302


def test_login_sets_strict_httponly_cookie(client: FlaskClient) -> None:
    resp = _login(client)
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert client.get("/settings/").status_code == 200


def test_cookie_secure_over_tls(client: FlaskClient) -> None:
    token = _csrf(client, "/settings/login")
    resp = client.post("/settings/login", data={"password": PASSWORD, "csrf_token": token},
                       base_url="https://localhost", headers={"Referer": "https://localhost/settings/login"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert "Secure" in resp.headers["Set-Cookie"]


def test_csrf_required(client: FlaskClient) -> None:
    resp = client.post("/settings/login", data={"password": PASSWORD})
    assert resp.status_code == 400
    _login(client)
    assert client.post("/settings/unit", data={"unit_name": "X", "direction": "auto", "camera": "auto",
                                               "camera_fps": "60"}).status_code == 400


def test_login_rate_limited(client: FlaskClient) -> None:
    for _ in range(5):
        assert _login(client, "wrong-password").status_code == 401
    resp = _login(client)  # even the right password waits
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 0
    assert "Too many attempts" in resp.get_data(as_text=True)


def test_sliding_window_limiter() -> None:
    now = [0.0]
    lim = SlidingWindowLimiter(2, 60.0, clock=lambda: now[0])
    assert lim.hit("a") == 0 and lim.hit("a") == 0 and lim.hit("a") > 0
    assert lim.hit("b") == 0
    now[0] = 61.0
    assert lim.hit("a") == 0


def test_no_password_keeps_settings_locked(tmp_path: Path) -> None:
    client = create_app(state_dir=tmp_path / "fresh").test_client()
    html = client.get("/settings/login").get_data(as_text=True)
    assert "leancam web --set-password" in html
    assert _login(client, "anything-at-all").status_code == 401


def test_open_redirect_refused(client: FlaskClient) -> None:
    token = _csrf(client, "/settings/login")
    resp = client.post("/settings/login?next=//evil.example/x", data={"password": PASSWORD, "csrf_token": token})
    assert resp.headers["Location"] == "/settings/"


def test_unit_settings_saved_and_validated(client: FlaskClient, state: Path) -> None:
    _login(client)
    token = _csrf(client, "/settings/")
    form = {"unit_name": "Track 3", "direction": "-1", "camera": "webcam:1", "camera_fps": "90", "csrf_token": token}
    client.post("/settings/unit", data=form)
    assert load_unit_settings(state) == {"unit_name": "Track 3", "direction": "-1", "camera": "webcam:1",
                                         "camera_fps": 90}
    assert "Track 3" in client.get("/").get_data(as_text=True)
    resp = client.post("/settings/unit", data={**form, "camera_fps": "500", "camera": "rtsp://x"},
                       follow_redirects=True)
    assert "Not saved" in resp.get_data(as_text=True)
    assert load_unit_settings(state)["camera_fps"] == 90


def test_thresholds_written_validated_and_reported(tmp_path: Path, state: Path) -> None:
    config = pytest.importorskip("appliance.config")
    saved = []
    cfg_path = tmp_path / "leancam.toml"
    app = create_app(state_dir=state, config_path=cfg_path, on_config_saved=saved.append)
    client = app.test_client()
    _login(client)
    html = client.get("/settings/").get_data(as_text=True)
    fields = dict(re.findall(r'<input type="number" id="([\w.]+)" name="[\w.]+" value="([^"]*)"', html))
    assert fields, "no threshold fields rendered"
    # What a browser posts besides the numbers: text fields as they are, ticked checkboxes as "on".
    others = {**dict(re.findall(r'<input id="(\w+\.\w+)" name="[\w.]+" value="([^"]*)"', html)),
              **{k: "on" for k in re.findall(r'<input type="checkbox" id="(\w+\.\w+)" name="[\w.]+" checked', html)}}
    key = next(iter(fields))
    section, name = key.split(".")
    default = getattr(getattr(config.Config(), section), name)
    new_value = default + 1 if isinstance(default, int) else round(default * 0.5 + 0.01, 4)
    token = _csrf(client, "/settings/")
    resp = client.post("/settings/thresholds", data={**others, **fields, key: str(new_value), "csrf_token": token},
                       follow_redirects=True)
    assert "Thresholds saved" in resp.get_data(as_text=True)
    written = tomllib.loads(cfg_path.read_text())
    assert written == {section: {name: new_value}}  # only the changed value
    assert config.load_config(cfg_path) == saved[0]
    # Bad input: nothing written, clear message.
    before = cfg_path.read_text()
    resp = client.post("/settings/thresholds", data={**others, **fields, key: "abc", "csrf_token": token},
                       follow_redirects=True)
    assert "Not saved" in resp.get_data(as_text=True)
    assert cfg_path.read_text() == before


def test_to_toml_roundtrip() -> None:
    data = {"a": {"x": 1.0, "y": 2, "z": True, "s": 'q"uote'}, "b": {"c": {"d": 0.5}}}
    assert tomllib.loads(to_toml(data)) == data


def test_led_test_cycles_lights(tmp_path: Path, state: Path) -> None:
    from gpiozero.pins.mock import MockFactory

    from appliance.leds import FeedbackLights, Light

    lights = FeedbackLights(pin_factory=MockFactory())
    lights.show(Light.READY)
    client = create_app(state_dir=state, lights=lights).test_client()
    _login(client)
    token = _csrf(client, "/settings/")
    resp = client.post("/settings/led-test", data={"csrf_token": token}, follow_redirects=True)
    assert "LED test" in resp.get_data(as_text=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(lights.changes) < 5:
        time.sleep(0.05)
    assert [c.light for c in lights.changes] == [Light.READY, Light.GO, Light.READY, Light.NO_GO, Light.READY]
    lights.close()


def test_logout(client: FlaskClient) -> None:
    _login(client)
    token = _csrf(client, "/settings/")
    client.post("/settings/logout", data={"csrf_token": token})
    assert client.get("/settings/").status_code == 302
