"""The web display: live verdict board, replay of recorded runs, phone uploads and settings.

Flask application factory in the Flask-tutorial style: ``create_app`` takes every dependency
explicitly (the pipeline's latest-state slot, where recordings and the database live, the config
file, the LED test and the light the LEDs show) so the same app serves ``leancam run`` (with a
live pipeline) and ``leancam web`` (recordings only, no camera), and tests build it on temporary
directories.

Blueprints: ``live`` (the board, MJPEG and SSE), ``replay`` (sessions → runs → strides),
``upload`` (phone videos for offline analysis), ``settings`` (password protected), ``api`` (JSON).
Served by waitress: see :mod:`appliance.web.server`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from appliance.config import VERDICT_HOLD_S
from appliance.live.state import LatestSlot, LightName

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_BYTES = 500 * 1024 * 1024
MAX_STREAM_FPS = 15.0

csrf = CSRFProtect()


@dataclass
class WebDeps:
    """What the blueprints use; stored as ``app.extensions["leancam"]``."""

    slot: LatestSlot | None
    state_dir: Path
    recordings_dir: Path
    db_path: Path
    config_path: Path | None
    config: Any = None  # appliance.config.Config as the pages show it (file + environment); set by create_app
    # The LEDs are the feedback controller's alone: the web only reads the light shown (a Light
    # value such as "go") and starts the controller's LED test. None: no LEDs in this process.
    shown_light: Callable[[], LightName] | None = None
    led_test: Callable[[], None] | None = None
    on_config_saved: Callable[[Any], None] | None = None
    # () -> appliance.recording.recorder.RecorderStatus of the running appliance (None: no recorder here)
    recorder_status: Callable[[], Any] | None = None
    analyze_upload: Callable[..., Any] | None = None
    upload_threads: int = 1  # pose threads for uploads: 1 beside a live pipeline
    max_stream_fps: float = MAX_STREAM_FPS
    max_mjpeg_clients: int = 4  # each open stream holds a waitress thread (server.DEFAULT_THREADS)
    max_sse_clients: int = 8
    stream_width_px: int = 640
    heartbeat_s: float = 5.0
    verdict_hold_s: float = VERDICT_HOLD_S  # the LEDs' hold time: a verdict shows this long, then READY
    extra: dict[str, Any] = field(default_factory=dict)


class _SessionInterface(SecureCookieSessionInterface):
    """Cookies get ``Secure`` whenever the request came over TLS (or the config forces it)."""

    def get_cookie_secure(self, app: Flask) -> bool:  # type: ignore[override]
        forced = bool(app.config["SESSION_COOKIE_SECURE"])
        try:
            return forced or request.is_secure
        except RuntimeError:  # outside a request
            return forced


def _secret_key(state_dir: Path) -> str:
    """A per-unit random key kept in the state dir (0600), so logins survive restarts."""
    path = state_dir / "web_secret_key"
    try:
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def create_app(*, state_dir: Path, slot: LatestSlot | None = None, recordings_dir: Path | None = None,
               db_path: Path | None = None, config_path: Path | None = None,
               shown_light: Callable[[], LightName] | None = None, led_test: Callable[[], None] | None = None,
               on_config_saved: Callable[[Any], None] | None = None,
               analyze_upload: Callable[..., Any] | None = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, secure_cookies: bool = False,
               login_attempts_per_minute: int = 5, upload_threads: int = 1, store: Any = None,
               recorder_status: Callable[[], Any] | None = None,
               test_config: dict[str, Any] | None = None) -> Flask:
    """Build the LeanCam web app.

    ``slot`` is the pipeline's latest-state slot (``None`` for ``leancam web``: the live page then
    says there is no camera). Recordings default to ``state_dir/clips`` and the database to
    ``state_dir/leancam.db``. ``on_config_saved(config)`` is called after the settings page wrote a
    valid config file, with the config ``leancam run`` would now load (file + environment
    overrides). ``analyze_upload`` overrides how uploaded videos are analysed (tests); ``store``
    is the process's writer ``Store`` (``leancam run`` has one), used for uploads;
    ``upload_threads`` is the pose model's thread count for uploads; ``recorder_status()`` gives the
    running recorder's state (the live page warns when recording stopped, e.g. disk full).
    ``shown_light()`` (the LEDs' light now, e.g. ``"go"``) lets the board follow the LEDs and
    ``led_test()`` (blocking, ~2 s) is the settings page's LED test: both come from the feedback
    controller, which alone drives the LEDs, so the web cannot overwrite a verdict.

    The config file is ``config_path`` (default: ``appliance.paths.config_path()``); the unit name
    in the page header is its ``unit.name``.
    """
    from appliance.web import api, auth, live, replay, settings, upload

    state_dir = Path(state_dir)
    app = Flask(__name__)
    app.session_interface = _SessionInterface()
    app.config.update(
        SECRET_KEY=_secret_key(state_dir),
        MAX_CONTENT_LENGTH=max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="leancam_session",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_TIME_LIMIT=None,  # token lives as long as the session
        SEND_FILE_MAX_AGE_DEFAULT=0,
    )
    if test_config:
        app.config.update(test_config)
    deps = WebDeps(
        slot=slot,
        state_dir=state_dir,
        recordings_dir=Path(recordings_dir) if recordings_dir else state_dir / "clips",
        db_path=Path(db_path) if db_path else state_dir / "leancam.db",
        config_path=Path(config_path) if config_path else None,
        shown_light=shown_light,
        led_test=led_test,
        on_config_saved=on_config_saved,
        recorder_status=recorder_status,
        analyze_upload=analyze_upload,
        upload_threads=upload_threads,
        extra={"store": store} if store is not None else {},
    )
    app.extensions["leancam"] = deps
    deps.config = settings.load_web_config(deps)
    csrf.init_app(app)
    auth.init_app(app, attempts_per_minute=login_attempts_per_minute)

    app.register_blueprint(live.bp)
    app.register_blueprint(replay.bp)
    app.register_blueprint(upload.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(api.bp)
    upload.register_error_handlers(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"unit_name": settings.unit_name(deps), "live_available": deps.slot is not None}

    @app.after_request
    def _headers(resp: Any) -> Any:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
        return resp

    log.debug("web app created (state %s, live %s)", state_dir, slot is not None)
    return app


def deps_of(app: Flask) -> WebDeps:
    return app.extensions["leancam"]
