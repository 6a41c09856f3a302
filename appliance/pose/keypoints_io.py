"""Read and write keypoints as JSON Lines: a header line, then one line per frame.

The format is what ``leancam pose --out`` writes and what the analysis and tests read back, so
recorded keypoints can be analysed without re-running the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from appliance.errors import BadInputError
from appliance.pose.types import N_LANDMARKS, PoseFrame

SCHEMA = 1


def frame_to_dict(frame: PoseFrame) -> dict[str, Any]:
    lms = None
    if frame.landmarks is not None:
        lms = [[round(float(v), 2) if i < 3 else round(float(v), 4) for i, v in enumerate(row)]
               for row in frame.landmarks]
    return {"i": frame.index, "t_s": round(frame.t_s, 6), "w": frame.width_px, "h": frame.height_px,
            "score": round(float(frame.score), 4), "landmarks": lms}


def frame_from_dict(d: Any) -> PoseFrame:
    """Parse one frame line; anything malformed is a BadInputError naming what is wrong."""
    if not isinstance(d, dict):
        raise BadInputError("a frame line must be a JSON object")
    try:
        lms = d.get("landmarks")
        arr = None
        if lms is not None:
            with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused just below
                arr = np.asarray(lms, dtype=np.float32)
            if arr.shape != (N_LANDMARKS, 5):
                raise BadInputError(f"frame {d.get('i')!r}: landmarks must be 33×5, got shape {arr.shape}")
            if not np.isfinite(arr).all():
                raise BadInputError(f"frame {d.get('i')!r}: landmarks must be finite numbers")
        frame = PoseFrame(int(d["i"]), float(d["t_s"]), int(d["w"]), int(d["h"]), arr, float(d["score"]))
    except KeyError as err:
        raise BadInputError(f"frame line is missing the field {err.args[0]!r}") from err
    except (TypeError, ValueError, OverflowError) as err:
        raise BadInputError(f"frame {d.get('i')!r}: a field has the wrong type or value") from err
    if not np.isfinite(frame.t_s):
        raise BadInputError(f"frame {frame.index}: t_s must be a finite number")
    return frame


def write(fh: IO[str], frames: Iterable[PoseFrame], header: dict[str, Any] | None = None) -> int:
    """Write a header line and one line per frame; returns the number of frames written."""
    fh.write(json.dumps({"schema": SCHEMA, "kind": "leancam-keypoints", **(header or {})}) + "\n")
    n = 0
    for frame in frames:
        fh.write(json.dumps(frame_to_dict(frame), separators=(",", ":")) + "\n")
        n += 1
    return n


def read(path: Path) -> tuple[dict[str, Any], Iterator[PoseFrame]]:
    """Header and a lazy iterator of frames from a keypoints file (BadInputError when malformed)."""
    fh = path.open(encoding="utf-8", errors="strict")
    try:
        header = json.loads(fh.readline())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        fh.close()
        raise BadInputError(f"{path} is not a LeanCam keypoints file") from err
    if not isinstance(header, dict) or header.get("kind") != "leancam-keypoints":
        fh.close()
        raise BadInputError(f"{path} is not a LeanCam keypoints file")

    def frames() -> Iterator[PoseFrame]:
        with fh:
            for n, line in enumerate(fh, start=2):
                if not line.strip():
                    continue
                try:
                    yield frame_from_dict(json.loads(line))
                except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
                    raise BadInputError(f"{path}:{n}: not valid JSON") from err
                except BadInputError as err:
                    raise BadInputError(f"{path}:{n}: {err}") from err

    return header, frames()
