"""MediaPipe side of ``leancam bench pose``: run as a script by a *separate* interpreter.

mediapipe 0.10.14 needs numpy < 2 and LeanCam's venv has numpy 2, so this file imports nothing from
``appliance`` and runs under the bench venv (``./setup.sh bench``). It reads the frames the bench
decoded once (raw RGB uint8, ``frames × height × width × 3``, one file per clip), runs
``mp.solutions.pose.Pose`` in video mode (model_complexity=1, smooth_landmarks=False) on each, and
prints one JSON object: per-clip process() times and this process's peak RSS.

Frames are read with ``np.fromfile`` (a copy per frame, not a memory map) so the page cache of the
raw file does not count in the peak RSS reported, just as on our side.

Usage: python mediapipe_worker.py RAW:N:H:W [RAW:N:H:W ...]
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _peak_rss_mb() -> float:
    """This process's own peak RSS: VmHWM belongs to the memory map exec() made. (ru_maxrss would not
    do: Linux carries it over fork and exec, so it would report the parent's RSS at fork time.)"""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv: list[str]) -> int:
    import mediapipe as mp
    import numpy as np

    clips = []
    for spec in argv:
        path, n, h, w = spec.rsplit(":", 3)
        n, h, w = int(n), int(h), int(w)
        size = h * w * 3
        times_s = []
        found = 0
        with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                    enable_segmentation=False) as pose, open(path, "rb") as fh:
            for _ in range(n):
                rgb = np.fromfile(fh, dtype=np.uint8, count=size).reshape(h, w, 3)
                t0 = time.perf_counter()
                result = pose.process(rgb)
                times_s.append(time.perf_counter() - t0)
                found += result.pose_landmarks is not None
        clips.append({"frames": n, "found": found, "times_s": times_s})
    print(json.dumps({"mediapipe": mp.__version__, "numpy": np.__version__, "clips": clips,
                      "peak_rss_mb": _peak_rss_mb()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
