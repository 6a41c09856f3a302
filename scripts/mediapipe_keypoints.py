"""Reference keypoints from MediaPipe's own BlazePose, written in LeanCam's keypoints JSONL format.

Runs under the reference venv (mediapipe 0.10.14), not the appliance venv::

    /work/.venv-ref/bin/python scripts/mediapipe_keypoints.py ../shared/data/treadmill_slowmo.mp4
    # -> out/kp/treadmill_slowmo.jsonl (out/ is gitignored: keypoints of shared clips stay local)

Settings match what our own engine reproduces: ``mp.solutions.pose`` with model_complexity=1 (the
"full" landmark model) and smooth_landmarks=False (the analysis does its own causal filtering, and
MediaPipe's smoothing would hide the timing we are measuring). Frames are decoded with PyAV so the
timestamps are the container pts, like ``appliance.sources.video_file``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.pose import keypoints_io  # noqa: E402  (numpy/json only: importable from the ref venv)
from appliance.pose.types import PoseFrame  # noqa: E402
from appliance.sources.video_file import frame_rgb  # noqa: E402  (the product's own, portable RGB)

log = logging.getLogger(__name__)


def _frames(path: Path, pose: object) -> object:
    """Yield PoseFrames for every decoded frame of ``path``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        t0 = None
        for index, vf in enumerate(container.decode(stream)):
            rgb = np.ascontiguousarray(frame_rgb(vf, stream))
            h, w = rgb.shape[:2]
            t = float(vf.time) if vf.time is not None else index / float(stream.average_rate or 30)
            t0 = t if t0 is None else t0
            res = pose.process(rgb)
            lms = None
            score = 0.0
            if res.pose_landmarks is not None:
                # MediaPipe gives x, y normalised to the image and z scaled like x; ours are pixels.
                # The legacy solution API leaves ``presence`` unset (0.0); it only reports
                # landmarks of a found pose, so presence is written as 1 (the engine fills it).
                lms = np.array(
                    [[lm.x * w, lm.y * h, lm.z * w, lm.visibility,
                      lm.presence if lm.HasField("presence") else 1.0]
                     for lm in res.pose_landmarks.landmark],
                    dtype=np.float32,
                )
                score = 1.0  # the solution API does not expose the pose-presence score
            yield PoseFrame(index, t - t0, w, h, lms, score)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+", type=Path)
    parser.add_argument("--out-dir", type=Path, default=REPO / "out" / "kp")
    parser.add_argument("--force", action="store_true", help="recompute even if the output exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    import mediapipe as mp  # only in the reference venv

    args.out_dir.mkdir(parents=True, exist_ok=True)
    for video in args.videos:
        out = args.out_dir / f"{video.stem}.jsonl"
        if out.exists() and not args.force:
            log.info("%s exists, skipping", out)
            continue
        tmp = out.with_suffix(".tmp")
        with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=False,
                                    enable_segmentation=False, min_detection_confidence=0.5,
                                    min_tracking_confidence=0.5) as pose, tmp.open("w") as fh:
            n = keypoints_io.write(fh, _frames(video, pose),
                                   {"source": video.name, "engine": "mediapipe-0.10.14-full-unsmoothed"})
        tmp.replace(out)
        log.info("%s: %d frames -> %s", video.name, n, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
