"""Settings behind a password: the one config file (unit, camera, LEDs, recording, retention,
analysis thresholds) and an LED test.

The form is built from the dataclasses of ``appliance.config.Config`` (help text from the comment
above each field, as in ``leancam config --defaults``). A save goes through the strict loader
(``config_from_dict``: unknown keys and wrong types are errors) plus the checks below that only the
running appliance would otherwise find (GPIO numbers, camera source); only then is the TOML file
replaced atomically. The file keeps only values that differ from the defaults, so later changes to
defaults still apply. The ``[web]`` section is shown read-only: a wrong host or port would make
this very page unreachable after the next restart, with no way back through the page, and the
service sets the host from the environment anyway.

Some values reach the running appliance at once (lean thresholds via ``on_config_saved``, the unit
name in the page header); the rest (camera, LEDs, recording, gait, direction) only at the next
start of ``leancam run``, and the page says so after saving.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from appliance.config import DIRECTIONS, Config, config_from_dict, env_overrides, read_toml
from appliance.config.template import field_comments
from appliance.config.writer import write_toml
from appliance.errors import ConfigError, LeanCamError
from appliance.numbers import is_finite_number
from appliance.web import WebDeps, deps_of
from appliance.web.auth import check_password, is_logged_in, limiter, login_required, password_is_set

log = logging.getLogger(__name__)

bp = Blueprint("settings", __name__, url_prefix="/settings")

# Page order; a config section not listed here is shown after these (editable, restart needed).
SECTION_TITLES = {"unit": "Unit", "camera": "Camera", "leds": "LEDs", "recording": "Recording",
                  "retention": "Retention", "gait": "Gait", "lean": "Lean", "pose": "Pose", "mqtt": "MQTT",
                  "web": "Web"}
# Web: a wrong host/port would lock the page out. MQTT: broker credentials belong in the file or the
# environment (LEANCAM_MQTT_PASSWORD), not in a LAN page.
READ_ONLY_SECTIONS = frozenset({"web", "mqtt"})
# Never shown, neither the value nor an environment override's value.
SECRET_KEYS = frozenset({"mqtt.password"})
# What the running appliance picks up without a restart (everything else needs one).
LIVE_SECTIONS = frozenset({"lean"})  # leancam run's on_config_saved hands them to the analyzer
LIVE_KEYS = frozenset({"unit.name"})  # the page header reads the saved config
_DIRECTION_TEXT = {"auto": "automatic", "left_to_right": "left → right", "right_to_left": "right → left"}
DIRECTION_LABELS = {d: _DIRECTION_TEXT.get(d, d) for d in DIRECTIONS}  # the select offers exactly these
LABELS = {"unit.name": "Unit name", "unit.direction": "Direction of travel", "camera.source": "Source",
          "camera.fps": "Frame rate (fps)", "camera.lores_width_px": "Pose stream width (px)",
          "camera.lores_height_px": "Pose stream height (px)", "leds.buzzer": "Beep on NO-GO",
          "leds.pin_factory": "GPIO pin factory", "recording.crf": "Quality (x264 CRF)",
          "recording.pre_roll_s": "Pre-roll (s)", "recording.post_roll_s": "Post-roll (s)",
          "recording.gop_s": "Keyframe interval (s)"}
UNIT_SUFFIXES = (("_ll_s", "leg lengths/s"), ("_ll", "leg lengths"), ("_deg", "°"), ("_spm", "steps/min"),
                 ("_px", "px"), ("_mb", "MB"), ("_hz", "Hz"), ("_days", "days"), ("_s", "s"))
FILE_HEADER = "# LeanCam configuration (written by the settings page; values not listed are the defaults).\n\n"

_save_lock = threading.Lock()


# ---------------------------------------------------------------- reading the file

def config_file(deps: WebDeps) -> Path:
    if deps.config_path is not None:
        return deps.config_path
    from appliance import paths

    return paths.config_path()


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's tables, {} when there is no file yet (the page then shows and saves over the
    defaults); a ConfigError when it is not TOML or cannot be read."""
    return read_toml(path) if path.exists() else {}


def _with_env(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for section, values in env_overrides(dict(os.environ if environ is None else environ)).items():
        if isinstance(merged.get(section, {}), dict):
            merged.setdefault(section, {}).update(values)
    return merged


def effective_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """What ``leancam run`` would use with this file: the file (defaults when it does not exist)
    with the ``LEANCAM_<SECTION>_<KEY>`` environment overrides on top. ConfigError if invalid."""
    return config_from_dict(_with_env(_read_toml(path), environ))


def load_web_config(deps: WebDeps) -> Config:
    """The config the pages show (header's unit name): the effective config, or the defaults with
    a logged warning when the file is broken (the settings page then shows the error)."""
    path = config_file(deps)
    try:
        return effective_config(path)
    except ConfigError as err:
        log.warning("web: %s; using the defaults", err)
        return Config()


def unit_name(deps: WebDeps) -> str:
    """The unit's name for the page header: ``Config.unit.name``."""
    cfg = deps.config if deps.config is not None else load_web_config(deps)
    return cfg.unit.name


# ---------------------------------------------------------------- checks the loader does not make

# ---------------------------------------------------------------- the form

def needs_restart(key: str) -> bool:
    """True when the running appliance picks up ``section.key`` only at its next start."""
    return key not in LIVE_KEYS and key.partition(".")[0] not in LIVE_SECTIONS


def _label(section: str, name: str) -> str:
    if f"{section}.{name}" in LABELS:
        return LABELS[f"{section}.{name}"]
    for suffix, unit in UNIT_SUFFIXES:
        if name.endswith(suffix):
            words = name[: -len(suffix)].replace("_", " ")
            return f"{words[:1].upper()}{words[1:]} ({unit})"
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return None  # nested or complex values are edited in the file


def _ordered_sections(cfg: Config) -> list[str]:
    names = [f.name for f in dataclasses.fields(cfg) if dataclasses.is_dataclass(getattr(cfg, f.name))]
    known = [n for n in SECTION_TITLES if n in names and n not in READ_ONLY_SECTIONS]
    read_only = [n for n in SECTION_TITLES if n in names and n in READ_ONLY_SECTIONS]
    return known + [n for n in names if n not in SECTION_TITLES] + read_only


def _section_note(section: str, keys: list[str]) -> str:
    if section in READ_ONLY_SECTIONS:
        return ("Read-only here: a wrong host or port would lock this page out after the next restart. "
                "Change it in the config file or with LEANCAM_WEB_* variables (leancam web takes "
                "--host and --port instead).")
    restart = [k for k in keys if needs_restart(k)]
    if not restart:
        return "Applies to the next stride while leancam run is running."
    if len(restart) == len(keys):
        return "Takes effect after a restart of leancam."
    return "Fields marked restart take effect after a restart of leancam; the others at once."


def config_sections(cfg: Config, environ: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The form: sections in page order → fields with key, label, kind, value, default, help,
    choices, whether a restart is needed and the environment variable overriding it, if any."""
    source = dict(os.environ if environ is None else environ)
    try:
        env = env_overrides(source)
    except ConfigError:
        env = {}
    defaults = Config()
    out = []
    for name in _ordered_sections(cfg):
        value = getattr(cfg, name)
        default_sec = getattr(defaults, name)
        helps = field_comments(type(value))
        fields = []
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            kind = _kind(v)
            if kind is None:
                continue
            key = f"{name}.{f.name}"
            env_name = f"LEANCAM_{name}_{f.name}".upper() if f.name in env.get(name, {}) else None
            default = getattr(default_sec, f.name)
            env_value = source.get(env_name, "") if env_name else ""
            if key in SECRET_KEYS:
                v, default, env_value = ("set (hidden)" if v else "not set"), "not set", "(hidden)"
            fields.append({"name": f.name, "key": key, "label": _label(name, f.name), "kind": kind, "value": v,
                           "default": default, "help": helps.get(f.name, "").replace("``", ""),
                           "choices": DIRECTION_LABELS if key == "unit.direction" else None,
                           "restart": needs_restart(key), "env": env_name, "env_value": env_value})
        keys = [f["key"] for f in fields]
        doc = (type(value).__doc__ or "").replace("``", "").strip().splitlines()
        out.append({"name": name, "title": SECTION_TITLES.get(name, name.capitalize()),
                    "doc": doc[0] if doc else "", "editable": name not in READ_ONLY_SECTIONS,
                    "note": _section_note(name, keys),
                    "mixed": any(needs_restart(k) for k in keys) and not all(needs_restart(k) for k in keys),
                    "fields": fields})
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
        if not is_finite_number(v):
            raise ValueError(f"{label}: a finite number")
        return v
    return raw


# ---------------------------------------------------------------- writing the file

def _copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (_copy(v) if isinstance(v, dict) else v) for k, v in data.items()}


@dataclasses.dataclass(frozen=True)
class SaveResult:
    config: Config  # the effective config after the save (file + environment overrides)
    changed: tuple[str, ...]  # "section.key" whose value in the file changed


def save_config(deps: WebDeps, form: Mapping[str, Any], section: str | None = None) -> SaveResult:
    """Validate the posted fields of ``section`` (all editable sections when None) and write the
    config file. Raises ValueError / ConfigError with a message naming every problem; nothing is
    written then. Posted keys that are not editable fields of those sections are errors too."""
    path = config_file(deps)
    with _save_lock:
        current = _read_toml(path)
        try:
            before: Config | None = config_from_dict(current)
        except ConfigError:
            before = None  # a broken file: the save must fix it to pass the loader below
        sections = config_sections(before or Config())
        by_name = {s["name"]: s for s in sections}
        if section is not None and section not in by_name:
            raise ValueError(f"unknown section {section!r}")
        if section is not None and not by_name[section]["editable"]:
            raise ValueError(f"[{section}] is read-only here; edit the config file")
        targets = [by_name[section]] if section else [s for s in sections if s["editable"]]
        target_keys = {f["key"] for s in targets for f in s["fields"]}
        errors = []
        for key in form:
            if key in ("csrf_token", "section") or key in target_keys:
                continue
            sec_name = key.partition(".")[0]
            if sec_name in by_name and not by_name[sec_name]["editable"]:
                errors.append(f"{key} is read-only here (edit the config file)")
            elif any(f["key"] == key for s in sections for f in s["fields"]):
                errors.append(f"{key} is not part of the [{section}] form")
            else:
                errors.append(f"unknown setting {key!r}")
        merged = _copy(current)
        for sec in targets:
            table = merged.get(sec["name"], {})
            if not isinstance(table, dict):
                errors.append(f"[{sec['name']}] in the file is not a table")
                continue
            for f in sec["fields"]:
                try:
                    value = _parse_value(f["kind"], form.get(f["key"]), f["key"])
                except ValueError as err:
                    errors.append(str(err))
                    continue
                if value == f["default"]:
                    table.pop(f["name"], None)
                else:
                    table[f["name"]] = value
            if table:
                merged[sec["name"]] = table
            else:
                merged.pop(sec["name"], None)
        if errors:
            raise ValueError("; ".join(errors))
        cfg_file = config_from_dict(merged)  # ConfigError (naming every bad key) if the loader disagrees
        write_toml(path, merged, FILE_HEADER)
    changed = tuple(f["key"] for s in targets for f in s["fields"]
                    if before is None or _get(before, f["key"]) != _get(cfg_file, f["key"]))
    log.info("config saved to %s (changed: %s)", path, ", ".join(changed) or "nothing")
    try:
        effective = config_from_dict(_with_env(merged))
    except ConfigError as err:
        log.warning("config saved, but the environment overrides make it invalid (%s)", err)
        effective = cfg_file
    return SaveResult(effective, changed)


def _get(cfg: Config, key: str) -> Any:
    section, _, name = key.partition(".")
    return getattr(getattr(cfg, section), name)


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
    path = config_file(deps)
    config_error = None
    try:
        cfg = config_from_dict(_read_toml(path))
    except ConfigError as err:
        config_error = str(err)
        cfg = Config()
    return render_template("settings.html", sections=config_sections(cfg), config_error=config_error,
                           config_path=path, has_lights=deps.led_test is not None)


def _saved_message(deps: WebDeps, changed: tuple[str, ...]) -> str:
    if not changed:
        return "Saved; nothing changed."
    now = [k for k in changed if not needs_restart(k)]
    restart = [k for k in changed if needs_restart(k)]
    parts = []
    if deps.on_config_saved is None:  # leancam web: no analysis in this process
        live = [k for k in now if k in LIVE_KEYS]
        later = [k for k in now if k not in LIVE_KEYS]
        if live:
            parts.append(f"applied now: {', '.join(live)}")
        if later:
            parts.append(f"used from the next start of leancam run: {', '.join(later)}")
    elif now:
        parts.append(f"applied now: {', '.join(now)}")
    if restart:
        parts.append(f"takes effect after a restart of leancam: {', '.join(restart)}")
    return "Saved; " + "; ".join(parts) + "."


@bp.post("/config")
@login_required
def save() -> Any:
    deps = deps_of(current_app)
    section = request.form.get("section") or None
    try:
        result = save_config(deps, request.form, section)
    except (ValueError, LeanCamError) as err:
        log.info("settings not saved: %s", err)
        flash(f"Not saved: {err}", "error")
        return redirect(url_for("settings.index"))
    deps.config = result.config
    if deps.on_config_saved is not None:
        try:
            deps.on_config_saved(result.config)
        except Exception:  # the file is saved; the running appliance keeps its old values
            log.exception("on_config_saved failed")
            flash("Saved, but the running appliance could not take the new values; restart leancam.", "error")
            return redirect(url_for("settings.index"))
    flash(_saved_message(deps, result.changed), "ok")
    return redirect(url_for("settings.index"))


@bp.post("/led-test")
@login_required
def led_test() -> Any:
    deps = deps_of(current_app)
    if deps.led_test is None:
        flash("No LEDs are driven by this process (start the appliance with `leancam run`).", "error")
    else:
        # The test takes ~2 s; the controller runs it under its own lock (a verdict wins over it).
        threading.Thread(target=deps.led_test, name="led-test", daemon=True).start()
        flash("LED test: green, amber, red, then back.", "ok")
    return redirect(url_for("settings.index"))


@bp.app_context_processor
def _auth_globals() -> dict[str, Any]:
    return {"logged_in": is_logged_in()}
