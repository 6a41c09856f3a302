"""Write MediaPipe's own pose landmarks for a clip as a golden reference for our TFLite engine.

Runs ONLY under the reference venv that has mediapipe (never imported by ``appliance``)::

    /work/.venv-ref/bin/python scripts/make_golden.py models/demo/demo.mp4
    /work/.venv-ref/bin/python scripts/make_golden.py ../shared/data/treadmill_slowmo.mp4 --frames 150

Frames are decoded with PyAV (rgb24 through ``appliance.sources.video_file.frame_rgb``, the product's own
portable conversion) and fed in order to
``mp.solutions.pose.Pose`` in video mode with smoothing off, so the reference contains MediaPipe's
tracking behaviour (detector only when tracking is lost) but no temporal landmark filter. Output:
``tests/data/golden/<clip stem>_mediapipe.json`` with per-frame ``[[x_px, y_px, visibility], ...]``
(33 rows, x/y rounded to 0.1 px) or ``null`` where MediaPipe found no pose. Numbers only, no pixels,
so a golden made from a clip that may not be redistributed can still be stored.

It also records, per frame, the ROI MediaPipe's landmark model ran on (``rois``: x_center_px,
y_center_px, width_px, height_px, rotation_rad, or ``null``) and whether it came from the detector
(``roi_from_detection``), so tests can check our landmark stage and our detector separately from the
tracking loop. ``mp.solutions.pose.Pose`` does not expose those streams, so a twin ``SolutionBase``
is built on the same graph file with the same side inputs and calculator parameters as ``Pose`` and
asking for the graph's ROI outputs as well; the script checks that the twin's landmarks equal
``Pose``'s on every frame (same pipeline) before writing anything.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import av
import mediapipe as mp
import numpy as np
from mediapipe.python.solution_base import SolutionBase

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run by the reference venv, where leancam is not installed

from appliance.ops.assets import sha256_of  # noqa: E402  (stdlib-only module; needs the path above)
from appliance.sources.video_file import frame_rgb  # noqa: E402  (av + numpy: the product's own decode)

GOLDEN_DIR = REPO_ROOT / "tests" / "data" / "golden"

# The settings the golden is made with; the test reads them back so both sides stay in step.
POSE_SETTINGS = {
    "static_image_mode": False,
    "model_complexity": 1,
    "smooth_landmarks": False,
    "enable_segmentation": False,
    "min_detection_confidence": 0.5,
    "min_tracking_confidence": 0.5,
}


def roi_twin() -> SolutionBase:
    """The graph ``mp.solutions.pose.Pose`` runs, configured as ``POSE_SETTINGS``, plus ROI outputs."""
    s = POSE_SETTINGS
    video = not s["static_image_mode"]
    return SolutionBase(
        binary_graph_path="mediapipe/modules/pose_landmark/pose_landmark_cpu.binarypb",
        side_inputs={
            "model_complexity": s["model_complexity"],
            "smooth_landmarks": s["smooth_landmarks"] and video,
            "enable_segmentation": s["enable_segmentation"],
            "smooth_segmentation": video,
            "use_prev_landmarks": video,
        },
        calculator_params={
            "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh": s["min_detection_confidence"],
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__ThresholdingCalculator.threshold":
                s["min_tracking_confidence"],
        },
        outputs=["pose_landmarks", "pose_rect_from_landmarks", "pose_rect_from_detection"],
    )


def as_array(landmarks) -> list[tuple[float, ...]] | None:
    if landmarks is None:
        return None
    # Pose.process() clears `presence`, so it is not compared.
    return [(lm.x, lm.y, lm.z, lm.visibility) for lm in landmarks.landmark]


def rect_px(rect, width: int, height: int) -> list[float] | None:
    if rect is None:
        return None
    return [round(rect.x_center * width, 2), round(rect.y_center * height, 2), round(rect.width * width, 2),
            round(rect.height * height, 2), round(rect.rotation, 5)]


def decode_rgb(path: Path, max_frames: int | None):
    """Yield HxWx3 uint8 RGB frames in decode order, converted exactly as the product converts them
    (appliance.sources.video_file.frame_rgb: the same bytes on every CPU)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for i, vf in enumerate(container.decode(stream)):
            if max_frames is not None and i >= max_frames:
                break
            # MediaPipe needs C-contiguous data; PyAV pads rows of some widths (1768 px).
            yield np.ascontiguousarray(frame_rgb(vf, stream))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--frames", type=int, default=None, help="only the first N frames (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    out = args.out or GOLDEN_DIR / f"{args.clip.stem}_mediapipe.json"
    frames_out: list[list[list[float]] | None] = []
    rois: list[list[float] | None] = []
    from_detection: list[bool] = []
    width = height = 0
    times_ms: list[float] = []
    prev_roi = None
    with mp.solutions.pose.Pose(**POSE_SETTINGS) as pose, roi_twin() as twin:
        for index, rgb in enumerate(decode_rgb(args.clip, args.frames)):
            height, width = rgb.shape[:2]
            rgb.flags.writeable = False
            t0 = time.perf_counter()
            result = pose.process(rgb)
            times_ms.append((time.perf_counter() - t0) * 1e3)
            extra = twin.process(rgb)
            if as_array(result.pose_landmarks) != as_array(extra.pose_landmarks):
                raise SystemExit(f"frame {index}: ROI twin graph disagrees with mp.solutions.pose.Pose")
            # The ROI used on this frame: last frame's ROI from landmarks, else this frame's detection.
            used = prev_roi if prev_roi is not None else extra.pose_rect_from_detection
            rois.append(rect_px(used, width, height))
            from_detection.append(prev_roi is None and used is not None)
            prev_roi = extra.pose_rect_from_landmarks
            if result.pose_landmarks is None:
                frames_out.append(None)
                continue
            frames_out.append([
                [round(lm.x * width, 1), round(lm.y * height, 1), round(lm.visibility, 3)]
                for lm in result.pose_landmarks.landmark
            ])

    doc = {
        "clip": args.clip.name,
        "sha256": sha256_of(args.clip),
        "mediapipe_version": mp.__version__,
        "settings": POSE_SETTINGS,
        "width_px": width,
        "height_px": height,
        "n_frames": len(frames_out),
        "columns": ["x_px", "y_px", "visibility"],
        "frames": frames_out,
        "roi_columns": ["x_center_px", "y_center_px", "width_px", "height_px", "rotation_rad"],
        "rois": rois,
        "roi_from_detection": from_detection,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    found = sum(f is not None for f in frames_out)
    # The first call includes graph start-up; report the steady state.
    steady = np.asarray(times_ms[1:] or times_ms)
    print(f"{out}: {len(frames_out)} frames, pose in {found}, {out.stat().st_size / 1e3:.0f} kB; "
          f"mediapipe {mp.__version__} process() median {np.median(steady):.1f} ms/frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
