"""Health checks for ``leancam doctor``: each check says what it found and, on failure, how to fix it.

Checks are plain functions returning a ``Check``; none of them changes anything on the machine.
"""

from __future__ import annotations

import glob
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance import paths
from appliance.errors import LeanCamError
from appliance.ops import assets

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One finding as `leancam doctor` prints it: what was seen and, when it failed, the fix."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # a failed optional check is a warning (e.g. no camera on a laptop)


def check_runtime() -> Check:
    from appliance.pose import runtime

    try:
        _cls, name = runtime._interpreter_class()
    except LeanCamError as err:
        return Check("runtime", False, str(err), "./setup.sh (installs ai-edge-litert)")
    return Check("runtime", True, f"{name} importable")


def check_models() -> Check:
    bad = []
    for name in ("pose_detection", "pose_landmark_full", "demo_run_clip", "demo_clip"):
        try:
            assets.require(name, verify=True)
        except LeanCamError as err:
            bad.append(str(err))
    if bad:
        return Check("models", False, "; ".join(bad), "./setup.sh (or .venv/bin/leancam fetch)")
    return Check("models", True,
                 "BlazePose detector + landmark model and both demo clips (running, walking) present, sha256 ok")


def check_pose_profile(device_tree_model: Path | None = None) -> Check:
    """Which pose profile ``[pose] profile`` resolves to on this board, why, and that its model loads.

    The profile decides whether a Pi 4 keeps up with the camera (appliance/pose/profile.py), so the
    user should see the choice and its reason without reading logs.
    """
    from appliance.config import load_appliance_config
    from appliance.pose import variants
    from appliance.pose.engine import landmark_of
    from appliance.pose.profile import DEVICE_TREE_MODEL, choose_profile

    try:
        cfg = load_appliance_config().pose
    except LeanCamError as err:
        return Check("pose profile", False, f"config not readable: {err}",
                     f"fix {paths.config_path()} (leancam config --check)")
    choice = choose_profile(cfg.profile, device_tree_model or DEVICE_TREE_MODEL)
    model, name = landmark_of(cfg, choice.profile)
    try:
        variants.resolve(model, name)
    except LeanCamError as err:
        return Check("pose profile", False, f"{choice.profile} ({choice.reason}); {err}",
                     "./setup.sh (or leancam fetch), or choose another variant in [pose]")
    return Check("pose profile", True, f"{choice.profile}: {choice.reason}; landmark model {model} = {name!r}")


def check_camera() -> Check:
    from appliance.sources.picamera import picamera2_available

    if picamera2_available():
        try:
            from picamera2 import Picamera2

            cams = Picamera2.global_camera_info()
        except Exception as err:  # libcamera errors are not typed; report whatever it says
            return Check("camera", False, f"picamera2 present but libcamera failed: {err}",
                         "check the ribbon cable and run `rpicam-hello --list-cameras`")
        if cams:
            return Check("camera", True, f"Pi camera: {cams[0].get('Model', 'unknown model')}")
        return Check("camera", False, "picamera2 installed but no camera detected",
                     "reseat the camera ribbon (contacts facing the right way), then reboot")
    webcams = sorted(glob.glob("/dev/video*"))
    if webcams:
        return Check("camera", True, f"no Pi camera stack; video devices: {', '.join(webcams)}", required=False)
    return Check("camera", False, "no Pi camera and no /dev/video* device",
                 "on a Pi: apt install python3-picamera2 and connect the camera; elsewhere plug a webcam "
                 "or use --source file:PATH (the demo clip runs without any camera)", required=False)


def check_gpio() -> Check:
    from appliance.feedback.leds import make_pin_factory

    factory, real = make_pin_factory("auto")
    if real:
        return Check("gpio", True, f"pin factory {type(factory).__name__}")
    return Check("gpio", False, "no GPIO pin factory: LEDs and button will not work",
                 "on a Pi 5: apt install python3-lgpio (then recreate .venv with ./setup.sh); "
                 "off the Pi this is expected", required=False)


def check_disk() -> Check:
    """Below ``[retention] min_free_mb`` the recorder stops: the same limit fails this check (an
    unreadable config is the mqtt check's to report; the default applies here)."""
    from appliance.config import RetentionConfig, load_appliance_config

    try:
        min_free_mb = load_appliance_config().retention.min_free_mb
    except LeanCamError:
        min_free_mb = RetentionConfig().min_free_mb
    state = paths.state_dir()
    probe = state if state.exists() else next((p for p in state.parents if p.exists()), state.anchor)
    free_mb = shutil.disk_usage(probe).free / 1e6
    if free_mb < min_free_mb:
        return Check("disk", False, f"{free_mb:.0f} MB free at {probe}",
                     f"free space or lower the recording quota; below {min_free_mb:.0f} MB "
                     "([retention] min_free_mb) the recorder stops")
    return Check("disk", True, f"{free_mb / 1000:.1f} GB free at {probe}")


def check_clock() -> Check:
    """The Pi has no RTC: until NTP syncs, the clock can be far in the past and clip times are wrong."""
    year = time.gmtime().tm_year
    if year < 2025:
        return Check("clock", False, f"system clock says {year}",
                     "connect to a network for NTP, or add an RTC (Pi 5 has an RTC battery connector)")
    synced = None
    if shutil.which("timedatectl"):
        proc = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
                              capture_output=True, text=True, check=False)
        synced = proc.stdout.strip() if proc.returncode == 0 else None
    if synced == "no":
        return Check("clock", False, "clock plausible but not NTP-synchronised",
                     "enable time sync: sudo timedatectl set-ntp true", required=False)
    return Check("clock", True, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))


def check_mqtt(timeout_s: float = 5.0) -> Check:
    """With ``[mqtt] enabled``, log in to the configured broker once, as the unit would."""
    from appliance.config import load_appliance_config
    from appliance.mqtt.fleet import Broker, FleetClient

    try:
        cfg = load_appliance_config().mqtt
    except LeanCamError as err:
        return Check("mqtt", False, f"config not readable: {err}",
                     f"fix {paths.config_path()} (leancam config --check)")
    if not cfg.enabled:
        return Check("mqtt", True, "off ([mqtt] enabled = false): verdicts stay on this unit", required=False)
    where = f"{cfg.host}:{cfg.port}{' (TLS)' if cfg.tls else ''}"
    client = FleetClient(Broker(cfg.host, cfg.port, cfg.tls), cfg.username, cfg.password, cfg.ca_file,
                         cfg.topic_prefix)
    try:
        client.connect(timeout_s)
    except LeanCamError as err:
        # Not fatal: the unit keeps judging and its events wait in the outbox until the broker answers.
        return Check("mqtt", False, f"{err}; events will wait in the outbox",
                     "check [mqtt] host/port/tls in the config and LEANCAM_MQTT_PASSWORD; is the broker running "
                     "and reachable from this unit?", required=False)
    except ValueError as err:  # paho: bad TLS settings (e.g. an unreadable ca_file)
        return Check("mqtt", False, f"cannot set up the connection to {where}: {err}",
                     "check [mqtt] tls and ca_file", required=False)
    client.close()
    return Check("mqtt", True, f"logged in to the broker at {where}")


CHECKS: tuple[Callable[[], Check], ...] = (check_runtime, check_models, check_pose_profile, check_camera, check_gpio,
                                           check_disk, check_clock, check_mqtt)


def run_checks() -> list[Check]:
    return [check() for check in CHECKS]
