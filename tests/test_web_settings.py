"""Settings behind a password: scrypt hash, CSRF, cookie flags, rate limit, the config file (unit, camera,
LEDs, thresholds: what is written, what is refused), LED test."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.config.writer import to_toml
from appliance.web import create_app
from appliance.web.auth import SlidingWindowLimiter, set_password

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
    assert client.post("/settings/config", data={"section": "unit", "unit.name": "X",
                                                 "unit.direction": "auto"}).status_code == 400


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


# ---------------------------------------------------------------- the config file, section by section

def _form(html: str, section: str) -> dict[str, str]:
    """What a browser posts for one section's form: text and number fields as shown, the selected
    option, ticked checkboxes as "on" (unticked ones are absent), the hidden fields."""
    m = re.search(rf'<form method="post" action="/settings/config" id="{section}-form">(.*?)</form>', html, re.S)
    assert m, f"no form for [{section}]"
    body = m.group(1)
    data = dict(re.findall(r'<input (?:type="(?:hidden|number)" )?(?:id="[\w.]+" )?name="([\w.]+)" value="([^"]*)"',
                           body))
    data.update({k: "on" for k in re.findall(r'<input type="checkbox" id="[\w.]+" name="([\w.]+)" checked', body)})
    for name, options in re.findall(r'<select id="[\w.]+" name="([\w.]+)">(.*?)</select>', body, re.S):
        data[name] = re.search(r'<option value="([^"]*)" selected', options).group(1)
    return data


def _post(client: FlaskClient, section: str, **changes: str | None) -> str:
    """Post one section as the browser would, with ``changes`` (keys with __ for the dot; None =
    an unticked checkbox, which a browser leaves out)."""
    data = _form(client.get("/settings/").get_data(as_text=True), section)
    for key, value in changes.items():
        if value is None:
            data.pop(key.replace("__", "."), None)
        else:
            data[key.replace("__", ".")] = value
    return client.post("/settings/config", data=data, follow_redirects=True).get_data(as_text=True)


def _flash(html: str) -> str:
    m = re.search(r'<p class="flash (\w+)" role="alert">(.*?)</p>', html, re.S)
    assert m, "no message on the page"
    return f"{m.group(1)}: {m.group(2)}".replace("&#39;", "'").replace("&gt;", ">")


def test_page_shows_sections_in_order_with_direction_select(client: FlaskClient) -> None:
    _login(client)
    html = client.get("/settings/").get_data(as_text=True)
    legends = re.findall(r"<legend>(.*?)</legend>", html)
    assert legends == ["Unit", "Camera", "LEDs", "LED test", "Recording", "Retention", "Gait", "Lean", "Pose", "MQTT",
                       "Web"]
    options = re.findall(r'<option value="(\w+)"', html[html.index('id="unit.direction"'):])
    assert options[:3] == ["auto", "left_to_right", "right_to_left"]
    # [web] is shown, not editable: no form, no inputs.
    assert 'id="web-form"' not in html and 'name="web.port"' not in html and '<output id="web.port">8080' in html


def test_unit_and_camera_saved_in_config_file(client: FlaskClient, tmp_path: Path, state: Path) -> None:
    cfg_path = tmp_path / "leancam.toml"
    _login(client)
    msg = _flash(_post(client, "unit", unit__name="Track 3", unit__direction="right_to_left"))
    assert msg == ("ok: Saved; applied now: unit.name; takes effect after a restart of leancam: "
                   "unit.direction.")
    assert tomllib.loads(cfg_path.read_text()) == {"unit": {"name": "Track 3", "direction": "right_to_left"}}
    assert '<span class="unit">Track 3</span>' in client.get("/").get_data(as_text=True)

    msg = _flash(_post(client, "camera", camera__source="webcam:1", camera__fps="30", camera__lores_width_px="960",
                       camera__lores_height_px="540"))
    assert msg == ("ok: Saved; takes effect after a restart of leancam: camera.source, camera.fps, "
                   "camera.lores_width_px, camera.lores_height_px.")
    assert tomllib.loads(cfg_path.read_text()) == {
        "unit": {"name": "Track 3", "direction": "right_to_left"},
        "camera": {"source": "webcam:1", "fps": 30.0, "lores_width_px": 960, "lores_height_px": 540}}

    msg = _flash(_post(client, "leds", leds__red_pin="5", leds__buzzer="on"))
    assert msg == "ok: Saved; takes effect after a restart of leancam: leds.red_pin, leds.buzzer."
    assert tomllib.loads(cfg_path.read_text())["leds"] == {"red_pin": 5, "buzzer": True}

    # Back to a default: the key leaves the file (only non-default values are kept).
    _post(client, "unit", unit__direction="auto")
    _post(client, "leds", leds__red_pin="9", leds__buzzer=None)
    written = tomllib.loads(cfg_path.read_text())
    assert written["unit"] == {"name": "Track 3"} and "leds" not in written
    assert _flash(_post(client, "camera")) == "ok: Saved; nothing changed."
    from appliance.config import load_appliance_config

    cfg = load_appliance_config(cfg_path, environ={})
    assert (cfg.unit.name, cfg.unit.direction, cfg.camera.source, cfg.camera.fps) == \
        ("Track 3", "auto", "webcam:1", 30.0)


@pytest.mark.parametrize(("section", "changes", "message"), [
    ("unit", {"unit.direction": "sideways"},
     "unit.direction must be one of auto, left_to_right, right_to_left, got 'sideways'"),
    ("unit", {"unit.name": "x" * 41}, "unit.name must be 1 to 40 characters"),
    ("leds", {"leds.red_pin": "99"}, "leds.red_pin: a BCM GPIO number from 0 to 27, got 99"),
    ("leds", {"leds.amber_pin": "9"}, "leds.amber_pin: GPIO 9 is already leds.red_pin"),
    ("leds", {"leds.buzzer_pin": "-2"}, "leds.buzzer_pin: a BCM GPIO number from 0 to 27 or -1 for none, got -2"),
    ("leds", {"leds.green_pin": "eleven"}, "leds.green_pin: a whole number, got 'eleven'"),
    ("camera", {"camera.source": "rtsp://x"},
     "camera.source: auto, picamera, webcam, webcam:N, demo, demo:walk or file:PATH, got 'rtsp://x'"),
    ("camera", {"camera.lores_width_px": "1920"}, "camera.lores_width_px: an even number from 64 to 1280"),
    ("retention", {"retention.quota_mb": "-5"}, "retention.quota_mb must be positive, got -5.0"),
    ("unit", {"unit.colour": "red"}, "unknown setting 'unit.colour'"),
    ("unit", {"web.port": "80"}, "web.port is read-only here (edit the config file)"),
    ("unit", {"camera.fps": "30"}, "camera.fps is not part of the [unit] form"),
])
def test_bad_values_refused_nothing_written(client: FlaskClient, tmp_path: Path, section: str,
                                            changes: dict[str, str], message: str) -> None:
    cfg_path = tmp_path / "leancam.toml"
    cfg_path.write_text('[unit]\nname = "Track 3"\n')
    _login(client)
    data = {**_form(client.get("/settings/").get_data(as_text=True), section), **changes}
    html = client.post("/settings/config", data=data, follow_redirects=True).get_data(as_text=True)
    msg = _flash(html)
    assert msg.startswith("error: Not saved: ") and message in msg, msg
    assert cfg_path.read_text() == '[unit]\nname = "Track 3"\n'


def test_unknown_key_in_file_refused_and_shown(client: FlaskClient, tmp_path: Path) -> None:
    cfg_path = tmp_path / "leancam.toml"
    cfg_path.write_text("[leds]\npurple_pin = 5\n")
    _login(client)
    page = client.get("/settings/").get_data(as_text=True)
    assert "The config file has an error: config.leds: unknown key &#39;purple_pin&#39;" in page
    msg = _flash(_post(client, "unit", unit__name="Track 3"))
    assert msg.startswith("error: Not saved: config.leds: unknown key 'purple_pin'"), msg
    assert cfg_path.read_text() == "[leds]\npurple_pin = 5\n"


def test_environment_override_is_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, state: Path) -> None:
    monkeypatch.setenv("LEANCAM_UNIT_NAME", "Lane 2")
    (tmp_path / "leancam.toml").write_text('[unit]\nname = "Track 3"\n')
    client = create_app(state_dir=state, config_path=tmp_path / "leancam.toml").test_client()
    assert '<span class="unit">Lane 2</span>' in client.get("/").get_data(as_text=True)  # as leancam run
    _login(client)
    html = client.get("/settings/").get_data(as_text=True)
    assert 'value="Track 3"' in html  # the form edits the file
    assert "Overridden by LEANCAM_UNIT_NAME=Lane 2 in the environment" in html


def test_thresholds_written_validated_and_reported(tmp_path: Path, state: Path) -> None:
    from appliance import config

    saved: list[config.Config] = []
    cfg_path = tmp_path / "leancam.toml"
    app = create_app(state_dir=state, config_path=cfg_path, on_config_saved=saved.append)
    client = app.test_client()
    _login(client)
    msg = _flash(_post(client, "lean", lean__min_lean_deg="3.5", lean__max_unsure_fraction="0.25"))
    assert msg == "ok: Saved; applied now: lean.min_lean_deg, lean.max_unsure_fraction."
    assert tomllib.loads(cfg_path.read_text()) == {"lean": {"min_lean_deg": 3.5, "max_unsure_fraction": 0.25}}
    assert saved == [config.load_config(cfg_path)]
    msg = _flash(_post(client, "gait", gait__confirm_frames="3"))
    assert msg == "ok: Saved; takes effect after a restart of leancam: gait.confirm_frames."
    before = cfg_path.read_text()
    msg = _flash(_post(client, "lean", lean__min_lean_deg="abc"))
    assert msg == "error: Not saved: lean.min_lean_deg: a number, got 'abc'"
    assert cfg_path.read_text() == before and len(saved) == 2


def test_without_live_analysis_thresholds_wait_for_leancam_run(client: FlaskClient) -> None:
    _login(client)
    msg = _flash(_post(client, "lean", lean__min_lean_deg="3.5"))
    assert msg == "ok: Saved; used from the next start of leancam run: lean.min_lean_deg."


def test_saved_thresholds_reach_the_running_analyzer(tmp_path: Path, state: Path) -> None:
    """leancam run's callback: new lean thresholds judge the next strides; gait stays as started."""
    from gpiozero.pins.mock import MockFactory

    from appliance.analysis.analyzer import StreamingAnalyzer
    from appliance.config import Config
    from appliance.live.app import LiveAppliance, RunOptions

    appliance = LiveAppliance(RunOptions(web=False), Config(), pin_factory=MockFactory(), engine=object())
    try:
        appliance.analyzer = StreamingAnalyzer(appliance.config)
        tracker_cfg = appliance.analyzer.tracker.cfg
        client = create_app(state_dir=state, config_path=tmp_path / "leancam.toml",
                            on_config_saved=appliance._config_saved).test_client()
        _login(client)
        _post(client, "lean", lean__min_running_speed_ll_s="2.5")
        _post(client, "gait", gait__confirm_frames="3")
        assert appliance.analyzer.config.lean.min_running_speed_ll_s == 2.5
        assert appliance.analyzer.config.gait == Config().gait and appliance.analyzer.tracker.cfg is tracker_cfg
    finally:
        appliance.close()


def test_to_toml_roundtrip() -> None:
    data = {"a": {"x": 1.0, "y": 2, "z": True, "s": 'q"uote'}, "b": {"c": {"d": 0.5}}}
    assert tomllib.loads(to_toml(data)) == data


def test_led_test_runs_the_controllers_self_test(tmp_path: Path, state: Path) -> None:
    """The button hands the test to the feedback controller (the web never drives the LEDs)."""
    from gpiozero.pins.mock import MockFactory

    from appliance.feedback.controller import FeedbackController
    from appliance.feedback.leds import FeedbackLights, Light

    lights = FeedbackLights(pin_factory=MockFactory())
    feedback = FeedbackController(lights)
    client = create_app(state_dir=state, shown_light=feedback.shown_light,
                        led_test=feedback.self_test).test_client()
    _login(client)
    token = _csrf(client, "/settings/")
    resp = client.post("/settings/led-test", data={"csrf_token": token}, follow_redirects=True)
    assert "LED test" in resp.get_data(as_text=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(lights.changes) < 5:
        time.sleep(0.05)
    assert [c.light for c in lights.changes] == [Light.READY, Light.GO, Light.READY, Light.NO_GO, Light.READY]
    lights.close()


def test_led_test_without_leds_says_so(client: FlaskClient) -> None:
    _login(client)
    token = _csrf(client, "/settings/")
    resp = client.post("/settings/led-test", data={"csrf_token": token}, follow_redirects=True)
    assert "No LEDs are driven by this process" in resp.get_data(as_text=True)


def test_web_package_does_not_import_the_led_layer() -> None:
    """The LEDs belong to the feedback controller; the web gets callables (issue 18)."""
    import ast

    web = Path(__file__).resolve().parents[1] / "appliance" / "web"
    offenders = []
    for path in sorted(web.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.startswith(("appliance.feedback", "gpiozero"))]
    assert offenders == []


def test_logout(client: FlaskClient) -> None:
    _login(client)
    token = _csrf(client, "/settings/")
    client.post("/settings/logout", data={"csrf_token": token})
    assert client.get("/settings/").status_code == 302


def test_mqtt_password_never_shown(tmp_path: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker password (file or LEANCAM_MQTT_PASSWORD) never reaches the LAN page; MQTT is read-only."""
    cfg_path = tmp_path / "leancam.toml"
    cfg_path.write_text('[mqtt]\nhost = "broker.lan"\npassword = "file-secret-123"\n')
    monkeypatch.setenv("LEANCAM_MQTT_PASSWORD", "env-secret-456")
    client = create_app(state_dir=state, config_path=cfg_path).test_client()
    _login(client)
    page = client.get("/settings/").get_data(as_text=True)
    assert "broker.lan" in page and "set (hidden)" in page
    assert "file-secret-123" not in page and "env-secret-456" not in page
    assert 'name="mqtt.password"' not in page  # not an input: read-only section
