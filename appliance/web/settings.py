"""Settings: analysis thresholds, unit name, direction, camera and an LED test, behind a password.

Thresholds are whatever ``appliance.config.Config`` defines: the form is built from its
dataclasses (help text from the comments above each field), and a save is validated by the same
strict loader the appliance uses before the TOML file is replaced. The file keeps only values that
differ from the defaults (plus keys it already had), so later code changes to defaults still apply.

Unit name, direction of travel and camera are not (yet) part of ``Config``; they are kept in
``STATE_DIR/web_settings.json`` and read with :func:`load_unit_settings`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import math
import os
import re
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from appliance.errors import LeanCamError
from appliance.web import WebDeps, deps_of
from appliance.web.auth import check_password, is_logged_in, limiter, login_required, password_is_set

log = logging.getLogger(__name__)

bp = Blueprint("settings", __name__, url_prefix="/settings")

UNIT_FILE = "web_settings.json"
DIRECTIONS = {"auto": "automatic", "1": "left → right", "-1": "right → left"}
CAMERA_RE = re.compile(r"^(auto|picamera|demo|webcam(:\d+)?|file:[^\x00]+)$")
UNIT_DEFAULTS: dict[str, Any] = {"unit_name": "LeanCam", "direction": "auto", "camera": "auto", "camera_fps": 60}


# ---------------------------------------------------------------- unit settings (JSON in the state dir)

def load_unit_settings(state_dir: Path) -> dict[str, Any]:
    """Unit name, direction ("auto", "1", "-1"), camera source spec and fps; defaults when unset."""
    data = dict(UNIT_DEFAULTS)
    try:
        stored = json.loads((Path(state_dir) / UNIT_FILE).read_text())
        if isinstance(stored, dict):
            data.update({k: v for k, v in stored.items() if k in UNIT_DEFAULTS})
    except (FileNotFoundError, json.JSONDecodeError):
        pass
    return data


def _save_unit_settings(state_dir: Path, data: dict[str, Any]) -> None:
    _atomic_write(Path(state_dir) / UNIT_FILE, json.dumps(data, indent=2) + "\n")


def unit_name(deps: WebDeps) -> str:
    name = load_unit_settings(deps.state_dir).get("unit_name")
    return str(name) if name and name != UNIT_DEFAULTS["unit_name"] else deps.unit_name


def _validate_unit(form: Any) -> tuple[dict[str, Any], list[str]]:
    errors = []
    name = (form.get("unit_name") or "").strip()
    if not 1 <= len(name) <= 40 or any(ord(c) < 32 for c in name):
        errors.append("Unit name: 1 to 40 printable characters.")
    direction = form.get("direction", "auto")
    if direction not in DIRECTIONS:
        errors.append("Direction: choose one of the listed values.")
    camera = (form.get("camera") or "").strip()
    if not CAMERA_RE.match(camera):
        errors.append("Camera: auto, picamera, webcam, webcam:N, demo or file:PATH.")
    try:
        fps = int(form.get("camera_fps", ""))
        if not 1 <= fps <= 120:
            raise ValueError
    except ValueError:
        errors.append("Camera fps: a whole number from 1 to 120.")
        fps = UNIT_DEFAULTS["camera_fps"]
    return {"unit_name": name, "direction": direction, "camera": camera, "camera_fps": fps}, errors


# ---------------------------------------------------------------- thresholds (the strict TOML config)

def _config_module() -> Any:
    try:
        from appliance import config
    except ImportError:  # analysis config not present in this checkout
        return None
    return config


def _field_help(cls: type) -> dict[str, str]:
    """Comment lines directly above each ``name: type = default`` line of a dataclass."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    helps: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        s = line.strip()
        if s.startswith("#"):
            pending.append(s.lstrip("#").strip())
            continue
        m = re.match(r"^(\w+)\s*:", s)
        if m and pending:
            helps[m.group(1)] = " ".join(pending)
        pending = []
    return helps


def config_sections(cfg: Any) -> list[dict[str, Any]]:
    """Form description: sections → fields with name, type, value, default and help."""
    out = []
    for sec in dataclasses.fields(cfg):
        value = getattr(cfg, sec.name)
        if not dataclasses.is_dataclass(value):
            continue
        default_sec = type(value)()
        helps = _field_help(type(value))
        fields = []
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if isinstance(v, bool):
                kind = "bool"
            elif isinstance(v, int):
                kind = "int"
            elif isinstance(v, float):
                kind = "float"
            elif isinstance(v, str):
                kind = "str"
            else:
                continue  # nested or complex values are edited in the file
            fields.append({"name": f.name, "kind": kind, "value": v, "default": getattr(default_sec, f.name),
                           "help": helps.get(f.name, "")})
        doc = (type(value).__doc__ or "").replace("``", "").strip().splitlines()
        out.append({"name": sec.name, "title": doc[0].rstrip(".") if doc else sec.name, "fields": fields})
    return out


def _parse_value(kind: str, raw: str | None, label: str) -> Any:
    if kind == "bool":
        return raw is not None
    raw = (raw or "").strip()
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{label}: a whole number, got {raw!r}") from None
    if kind == "float":
        try:
            v = float(raw)
        except ValueError:
            raise ValueError(f"{label}: a number, got {raw!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"{label}: a finite number")
        return v
    return raw


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, str):
        return json.dumps(v)  # JSON basic strings are valid TOML basic strings
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for the config's shape: tables of scalars and lists, nested tables."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    out = []
    if lines:
        out.append((f"[{prefix}]\n" if prefix else "") + "\n".join(lines) + "\n")
    for k, v in data.items():
        if isinstance(v, dict):
            out.append(to_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(s for s in out if s)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _config_path(deps: WebDeps) -> Path:
    if deps.config_path is not None:
        return deps.config_path
    from appliance import paths

    return paths.config_path()


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}


def save_thresholds(deps: WebDeps, form: Any) -> Any:
    """Validate the form with the strict loader and write the config file; returns the Config."""
    cfgmod = _config_module()
    path = _config_path(deps)
    current = _read_toml(path)
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in current.items()}
    errors = []
    for sec in config_sections(cfgmod.load_config(path if path.is_file() else None)):
        table = merged.setdefault(sec["name"], {})
        for f in sec["fields"]:
            key = f"{sec['name']}.{f['name']}"
            try:
                value = _parse_value(f["kind"], form.get(key), key)
            except ValueError as err:
                errors.append(str(err))
                continue
            if value != f["default"] or f["name"] in table:
                table[f["name"]] = value
        if not table:
            del merged[sec["name"]]
    if errors:
        raise ValueError("; ".join(errors))
    cfg = cfgmod.config_from_dict(merged)  # ConfigError if the loader disagrees
    header = "# LeanCam configuration (written by the settings page; values not listed are the defaults).\n\n"
    _atomic_write(path, header + to_toml(merged))
    log.info("config saved to %s", path)
    return cfg


# ---------------------------------------------------------------- views

def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and not urlparse(target).netloc:
        return target
    return url_for("settings.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    deps = deps_of(current_app)
    has_password = password_is_set(deps.state_dir)
    if request.method == "POST":
        wait_s = limiter(current_app).hit(request.remote_addr or "?")
        if wait_s > 0:
            log.warning("login rate limit hit from %s", request.remote_addr)
            msg = f"Too many attempts. Try again in {math.ceil(wait_s)} s."
            return render_template("login.html", error=msg, has_password=has_password), 429, \
                {"Retry-After": str(math.ceil(wait_s))}
        if has_password and check_password(deps.state_dir, request.form.get("password", "")):
            session.clear()
            session["settings_auth"] = True
            session["login_at"] = time.time()
            session.permanent = True
            log.info("settings login from %s", request.remote_addr)
            return redirect(_safe_next(request.args.get("next")))
        log.warning("failed settings login from %s", request.remote_addr)
        error = "Wrong password." if has_password else "No password is set on this unit."
        return render_template("login.html", error=error, has_password=has_password), 401
    return render_template("login.html", error=None, has_password=has_password)


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("live.board"))


@bp.get("/")
@login_required
def index() -> Any:
    deps = deps_of(current_app)
    cfgmod = _config_module()
    sections, config_error = [], None
    path = _config_path(deps)
    if cfgmod is not None:
        try:
            sections = config_sections(cfgmod.load_config(path if path.is_file() else None))
        except LeanCamError as err:
            config_error = str(err)
    return render_template("settings.html", sections=sections, config_error=config_error, config_path=path,
                           unit={**load_unit_settings(deps.state_dir), "unit_name": unit_name(deps)},
                           directions=DIRECTIONS,
                           has_lights=deps.lights is not None)


@bp.post("/thresholds")
@login_required
def thresholds() -> Any:
    deps = deps_of(current_app)
    if _config_module() is None:
        flash("This build has no analysis config to edit.", "error")
        return redirect(url_for("settings.index"))
    try:
        cfg = save_thresholds(deps, request.form)
    except (ValueError, LeanCamError) as err:
        flash(f"Not saved: {err}", "error")
        return redirect(url_for("settings.index"))
    if deps.on_config_saved is not None:
        deps.on_config_saved(cfg)
    flash("Thresholds saved.", "ok")
    return redirect(url_for("settings.index"))


@bp.post("/unit")
@login_required
def unit() -> Any:
    deps = deps_of(current_app)
    data, errors = _validate_unit(request.form)
    if errors:
        flash("Not saved: " + " ".join(errors), "error")
    else:
        _save_unit_settings(deps.state_dir, data)
        flash("Unit settings saved (camera changes apply at the next start).", "ok")
    return redirect(url_for("settings.index"))


def _led_cycle(lights: Any, step_s: float) -> None:
    from appliance.leds import Light

    before = lights.current
    try:
        for light in (Light.GO, Light.READY, Light.NO_GO):
            lights.show(light)
            time.sleep(step_s)
    finally:
        lights.show(before)


@bp.post("/led-test")
@login_required
def led_test() -> Any:
    deps = deps_of(current_app)
    if deps.lights is None:
        flash("No LEDs are driven by this process (start the appliance with `leancam run`).", "error")
    else:
        threading.Thread(target=_led_cycle, args=(deps.lights, 0.6), name="led-test", daemon=True).start()
        flash("LED test: green, amber, red, then back.", "ok")
    return redirect(url_for("settings.index"))


@bp.app_context_processor
def _auth_globals() -> dict[str, Any]:
    return {"logged_in": is_logged_in()}
