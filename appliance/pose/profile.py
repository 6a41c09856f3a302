"""Which pose profile a board runs: ``full`` (pose_landmark_full) or ``lite`` (pose_landmark_lite).

Why a profile per board: the landmark model is most of the pose stage, and a Raspberry Pi 4
(Cortex-A72, no int8 dot-product instruction) runs the full model well below the camera's frame
rate, while a Pi 5 keeps up (docs/performance.md, "Raspberry Pi 4 / Pi 5"). Below camera rate the
pipeline drops frames and gait events are timed at 45-75 ms instead of 20-33 ms, which costs more
than the lite model's coarser landmarks (measured in docs/performance.md, "Pose profiles").

``auto`` reads the board model the firmware writes into the device tree
(``/proc/device-tree/model``, e.g. ``Raspberry Pi 4 Model B Rev 1.4``): the BCM2711 boards (Pi 4,
Pi 400, Compute Module 4) get ``lite``, everything else ``full`` (Pi 5, and any machine without a
device tree, i.e. a laptop or a CI runner). ``full`` / ``lite`` in the config always win.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PROFILES = ("auto", "full", "lite")
DEVICE_TREE_MODEL = Path("/proc/device-tree/model")
# "Raspberry Pi 4 Model B", "Raspberry Pi 400", "Raspberry Pi Compute Module 4(S)": all BCM2711.
_PI4 = re.compile(r"^Raspberry Pi (?:Compute Module )?4(?:\d\d)?S?\b")


@dataclass(frozen=True)
class ProfileChoice:
    """The profile the engine uses and why (``leancam doctor`` and the log print ``reason``)."""

    profile: str  # "full" or "lite"
    setting: str  # what the config said: "auto", "full" or "lite"
    board: str | None  # the device tree's model string, None when there is none
    reason: str


def read_board_model(path: Path = DEVICE_TREE_MODEL) -> str | None:
    """The board's model string (NUL terminator stripped), or None off a device-tree machine."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    text = raw.replace(b"\x00", b"").decode("utf-8", errors="replace").strip()
    return text or None


def profile_for_board(board: str | None) -> str:
    """``lite`` for a Pi 4-class board (BCM2711), ``full`` for anything else."""
    return "lite" if board is not None and _PI4.match(board) else "full"


def choose_profile(setting: str, device_tree_model: Path = DEVICE_TREE_MODEL) -> ProfileChoice:
    """Resolve ``[pose] profile``; ``device_tree_model`` is the seam tests use for a fake board."""
    if setting not in PROFILES:
        raise ValueError(f"pose.profile must be one of {', '.join(PROFILES)}, got {setting!r}")
    board = read_board_model(device_tree_model)
    if setting != "auto":
        return ProfileChoice(setting, setting, board, f"set in the config ([pose] profile = \"{setting}\")")
    profile = profile_for_board(board)
    if board is None:
        why = f"auto: no board model at {device_tree_model} (not a Raspberry Pi) → full"
    elif profile == "lite":
        why = f"auto: {board!r} is a Pi 4-class board, below camera rate with the full model → lite"
    else:
        why = f"auto: {board!r} is not a Pi 4-class board → full"
    log.debug("pose profile %s (%s)", profile, why)
    return ProfileChoice(profile, setting, board, why)
