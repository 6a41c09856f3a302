"""Which clips ``leancam eval`` scores and where their labels are: the tuning / validation split.

Why a file: issue 14 asks that the labelled clips be split into a **tuning** and a **validation**
set *before* any threshold is changed, and that a change is kept only if validation improves or
holds. ``tests/data/labels/sets.json`` fixes that split by clip, with each clip's viewing options
(``every``, ``capture_fps``), label conventions (``one_foot``, ``first_row_initiation``) and cadence
truth, so everyone scores the same thing with ``leancam eval --set validation``.

Labels of a clip are found, in this order:

1. by the clip's sha256 in ``tests/data/labels/index.json`` (our own two-footed labels; an entry
   may say ``"one_foot": true``) — a renamed clip still matches, an edited one does not;
2. a ``<stem>.csv`` beside the clip (the sprint authors' files ``sprint_starts/bN.csv``).

A clip with neither is reported as "no labels" (its strides and cadence are still scored).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appliance.analysis.clip_eval import ClipSpec
from appliance.errors import BadInputError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".m4v")
SPEC_KEYS = {"path", "name", "every", "capture_fps", "one_foot", "first_row_initiation", "cadence_truth_spm",
             "cadence_from_labels", "notes"}


@dataclass(frozen=True)
class LabelSource:
    """Where a clip's labels come from, and the conventions of that file."""

    path: Path
    one_foot: bool
    first_row_initiation: bool
    origin: str  # "index" or "beside"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_index(labels_dir: Path) -> dict[str, dict[str, Any]]:
    """index.json as sha256 → entry (empty when there is no index)."""
    index = labels_dir / "index.json"
    if not index.is_file():
        return {}
    try:
        doc = json.loads(index.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadInputError(f"{index}: not valid JSON ({err})") from err
    return {str(e["sha256"]): e for e in doc.values() if isinstance(e, dict) and "sha256" in e}


def find_labels(clip: Path, labels_dir: Path, index: dict[str, dict[str, Any]] | None = None) -> LabelSource | None:
    """The clip's labels: index.json by sha256 first, else ``<stem>.csv`` beside it, else None.

    A CSV beside the clip follows the sprint authors' conventions (one foot, first row = block
    clearance; ``../shared/data/README.md``); an index entry is two-footed unless it says otherwise.
    """
    index = load_index(labels_dir) if index is None else index
    if clip.is_file() and index:
        entry = index.get(sha256_of(clip))
        if entry is not None:
            return LabelSource(labels_dir / str(entry["labels"]), bool(entry.get("one_foot", False)),
                               bool(entry.get("first_row_initiation", False)), "index")
    beside = clip.with_suffix(".csv")
    if beside.is_file():
        return LabelSource(beside, True, True, "beside")
    return None


def resolve_conventions(spec: ClipSpec, source: LabelSource | None) -> ClipSpec:
    """``spec`` with its label conventions decided.

    Conventions describe a label file, so an index.json entry's own flags win (our labels are
    two-footed unless the entry says otherwise); for a CSV beside the clip the set entry's (or the
    command line's) flags apply, by default the sprint authors' convention (one foot, first row =
    block clearance).
    """
    if source is None:
        return replace(spec, one_foot=False, first_row_initiation=False)
    if source.origin == "index":
        return replace(spec, one_foot=source.one_foot, first_row_initiation=source.first_row_initiation)
    return replace(spec, one_foot=source.one_foot if spec.one_foot is None else spec.one_foot,
                   first_row_initiation=(source.first_row_initiation if spec.first_row_initiation is None
                                         else spec.first_row_initiation))


def spec_from_entry(entry: dict[str, Any], data_dir: Path, where: str) -> ClipSpec:
    unknown = set(entry) - SPEC_KEYS
    if unknown or "path" not in entry:
        raise BadInputError(f"{where}: {'unknown key ' + repr(sorted(unknown)[0]) if unknown else 'no path'} "
                            f"(keys: {', '.join(sorted(SPEC_KEYS))})")
    every = int(entry.get("every", 1))
    name = str(entry.get("name") or Path(entry["path"]).stem + (f"/every{every}" if every > 1 else ""))
    cap = entry.get("capture_fps")
    truth = entry.get("cadence_truth_spm")
    one, first = entry.get("one_foot"), entry.get("first_row_initiation")
    return ClipSpec(name, str(data_dir / entry["path"]), every, None if cap is None else float(cap),
                    None if one is None else bool(one), None if first is None else bool(first),
                    None if truth is None else float(truth), bool(entry.get("cadence_from_labels", False)),
                    str(entry.get("notes", "")))


def load_set(sets_file: Path, name: str, data_dir: Path) -> list[ClipSpec]:
    """The clips of set ``name`` in ``sets_file`` (paths relative to ``data_dir``)."""
    if not sets_file.is_file():
        raise BadInputError(f"{sets_file}: no such sets file")
    try:
        doc = json.loads(sets_file.read_text(encoding="utf-8"))
        sets = doc["sets"]
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise BadInputError(f"{sets_file}: not a sets file ({err.__class__.__name__})") from err
    if name not in sets:
        raise BadInputError(f"{sets_file}: no set {name!r} (sets: {', '.join(sorted(sets))})")
    return [spec_from_entry(e, data_dir, f"{sets_file}: {name}[{i}]") for i, e in enumerate(sets[name]["clips"])]


def _natural(path: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


def clips_from_paths(paths: list[Path]) -> list[Path]:
    """Clips named on the command line: files as given, folders as their video files (a2 before a10)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted((c for c in p.iterdir() if c.suffix.lower() in VIDEO_SUFFIXES), key=_natural)
            if not found:
                raise BadInputError(f"{p}: no video files in this folder")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise BadInputError(f"{p}: no such file or folder")
    return out
