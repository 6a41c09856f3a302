"""Which model file a pose-model variant name means: ``original`` or a gated build from models/built.

``original`` is the fetched MediaPipe file (``appliance.ops.assets``, checksum-verified). Any other name
is looked up in ``models/built/manifest.json`` (written by ``models/build/gate.py``): only variants
that passed the accuracy/speed gate *and* are shipped in the checkout are selectable, and the file is
verified against the manifest's sha256 before it is loaded, so a half-copied or hand-edited model is
refused with a clear message rather than run.
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from appliance import paths
from appliance.errors import ModelError
from appliance.ops import assets

log = logging.getLogger(__name__)

ORIGINAL = "original"
# ``landmark`` is pose_landmark_full (the ``full`` profile), ``landmark_lite`` pose_landmark_lite (the
# ``lite`` profile, appliance/pose/profile.py); the detector is shared by both profiles.
MODELS = ("detector", "landmark", "landmark_lite")
# The fetched asset each model's "original" means.
ASSET_OF = {"detector": "pose_detection", "landmark": "pose_landmark_full", "landmark_lite": "pose_landmark_lite"}


def built_manifest_path() -> Path:
    """The manifest ships with the repository (not fetched), so it is found beside the code."""
    return paths.REPO_ROOT / "models" / "built" / "manifest.json"


@functools.lru_cache(maxsize=4)
def _manifest_cached(path: str, mtime_ns: int) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def built_manifest() -> dict[str, Any]:
    """The parsed manifest, or an empty one when the checkout has none (only ``original`` is valid)."""
    path = built_manifest_path()
    try:
        return _manifest_cached(str(path), path.stat().st_mtime_ns)
    except FileNotFoundError:
        return {"models": {}}
    except (OSError, json.JSONDecodeError) as err:
        raise ModelError(f"{path}: unreadable model manifest ({err}); restore it from git") from err


def _entries(model: str) -> dict[str, dict[str, Any]]:
    if model not in MODELS:
        raise ValueError(f"unknown pose model {model!r} (one of {', '.join(MODELS)})")
    return built_manifest().get("models", {}).get(model, {}).get("variants", {})


def choices(model: str) -> list[str]:
    """Names selectable for ``model``: ``original`` and every variant that passed the gate and is shipped."""
    return [ORIGINAL, *sorted(name for name, e in _entries(model).items() if e.get("pass") and e.get("shipped"))]


def manifest_default(model: str) -> str:
    """The manifest's default variant for ``model`` (``original`` when there is none)."""
    name = built_manifest().get("models", {}).get(model, {}).get("default")
    return name if name in choices(model) else ORIGINAL


def entry(model: str, name: str) -> dict[str, Any] | None:
    """The manifest entry of a built variant (None for ``original``)."""
    return None if name == ORIGINAL else _entries(model).get(name)


def check_name(model: str, name: str) -> str | None:
    """Why ``name`` is not a selectable ``model`` variant (None: it is)."""
    valid = choices(model)
    if name in valid:
        return None
    e = _entries(model).get(name)
    if e is not None and not e.get("pass"):
        why = "fails the accuracy/speed gate in models/built/manifest.json"
    elif e is not None:
        why = "is not shipped in this checkout (rebuild it with models/build)"
    else:
        why = "is not a known variant"
    return f"pose.{model} = {name!r} {why}; choose one of: {', '.join(valid)}"


def resolve(model: str, name: str, verify: bool = True) -> Path:
    """Path of the ``model`` file for variant ``name``, verified; ModelError naming the valid choices."""
    problem = check_name(model, name)
    if problem is not None:
        raise ModelError(problem)
    if name == ORIGINAL:
        return assets.require(ASSET_OF[model], verify=verify)
    e = _entries(model)[name]
    path = paths.REPO_ROOT / e["file"]
    if not path.is_file():
        raise ModelError(f"pose.{model} variant {name!r}: {path} is missing; restore it with git "
                         f"(it ships in models/built) or choose one of: {', '.join(choices(model))}")
    if verify and assets.sha256_of(path) != e["sha256"]:
        raise ModelError(f"pose.{model} variant {name!r}: {path} does not match its sha256 in "
                         "models/built/manifest.json (corrupt or modified); restore it with git")
    log.debug("pose.%s = %s → %s", model, name, path)
    return path


def figure_key(model: str) -> str:
    """The manifest's accuracy figure for ``model``: landmark mean px at 256, detector keypoint mean px at 224."""
    return "kp_mean_px" if model == "detector" else "mean_px"


def worst_figure(model: str, name: str, clip: str | None = None) -> float:
    """The variant's accuracy figure on its worst measured kernel family (``worst_kernel`` in the
    manifest, written by models/build/gate.py), for one hold-out ``clip`` or over all of them.

    XNNPACK picks int8 kernels by CPU features (x86 AVX2 / AVX-512 VNNI, arm64 NEON / dot product),
    so the same file deviates differently on different CPUs; tests and the gate bound each variant by
    the worst family, never by the one machine the gate happened to run on. Falls back to the
    variant's own figure for a manifest without per-kernel figures.
    """
    e = entry(model, name)
    if e is None:
        return 0.0
    key = figure_key(model)
    values = []
    for src in (e, e.get("worst_kernel") or {}):  # the full gate run's own figure and the per-kernel worst
        by_clip = src.get(f"{key}_by_clip") or {}
        if clip is not None and clip in by_clip:
            values.append(float(by_clip[clip]))
        elif key in src:
            values.append(float(src[key]))
    return max(values)


def worst_recall(name: str, clip: str | None = None) -> float:
    """A detector variant's recall of the original's detections on its worst measured kernel family."""
    e = entry("detector", name)
    if e is None:
        return 1.0
    src = e.get("worst_kernel") or e
    by_clip = src.get("recall_by_clip") or {}
    return float(by_clip[clip]) if clip in by_clip else float(src["recall"])
