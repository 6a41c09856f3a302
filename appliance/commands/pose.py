"""``leancam pose VIDEO``: run BlazePose on every frame, write keypoints and an annotated video."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from appliance.config import load_config
from appliance.errors import BadInputError, check_output_file, output_error, warn_user
from appliance.pose import keypoints_io, overlay
from appliance.pose.engine import PoseEngine
from appliance.recording.h264 import Mp4Writer
from appliance.sources.video_file import VideoFileSource

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pose", help="run pose estimation on a video file",
                       description="Run BlazePose on every frame of VIDEO; print the frame rate achieved.")
    p.add_argument("video", type=Path, help="video file (mp4, mov, …)")
    p.add_argument("--out", type=Path, help="write keypoints as JSON Lines (header + one line per frame)")
    p.add_argument("--annotate", type=Path, metavar="OUT.mp4", help="write the video with the skeleton drawn")
    p.add_argument("--threads", type=int, default=None,
                   help="inference threads (default: the config's pose.num_threads, 2)")
    p.add_argument("--config", type=Path, metavar="FILE.toml", help="pose model variants ([pose]; default: built-in)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--perturb", type=int, metavar="SEED",
                   help="add seeded noise of -1, 0 or +1 level to every decoded pixel first: another "
                        "camera's or decoder's rounding, to see how much the keypoints and the analysis "
                        "move with it (docs/analysis.md, 'How much the answers move')")
    p.set_defaults(func=run)


def perturbed(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``rgb`` with every value moved by -1, 0 or +1 (uniform), clipped to 0..255."""
    noise = rng.integers(-1, 2, size=rgb.shape, dtype=np.int16)
    return np.clip(rgb.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def run(args: argparse.Namespace) -> int:
    for out in (args.out, args.annotate):
        if out is not None:
            check_output_file(out)
    with VideoFileSource(args.video) as source:  # a bad file fails here, before the model loads
        engine = PoseEngine.from_config(load_config(args.config).pose, num_threads=args.threads)
        info = source.info
        writer = Mp4Writer(args.annotate, info.fps, info.width_px, info.height_px) if args.annotate else None
        kp_tmp = args.out.with_name(args.out.name + ".part") if args.out else None
        try:
            kp_fh = kp_tmp.open("w") if kp_tmp else None
        except OSError as err:
            if writer is not None:
                writer.abort()
            raise output_error(args.out, err) from err
        n_frames = n_found = 0
        pose_s = 0.0
        t_start = time.perf_counter()
        try:
            results = []
            bar = tqdm(total=info.frame_count, unit="frame", disable=args.no_progress or None,
                       file=sys.stderr, desc=info.name)
            rng = np.random.default_rng(args.perturb) if args.perturb is not None else None
            for frame in source.frames():
                if rng is not None:
                    frame = dataclasses.replace(frame, rgb=perturbed(frame.rgb, rng))
                t0 = time.perf_counter()
                pf = engine.process(frame)
                pose_s += time.perf_counter() - t0
                n_frames += 1
                n_found += pf.has_pose
                if kp_fh is not None:
                    results.append(pf)
                if writer is not None:
                    img = frame.rgb.copy()
                    if pf.landmarks is not None:
                        overlay.draw_skeleton(img, pf.landmarks)
                    writer.write(img)
                bar.update(1)
            bar.close()
            if kp_fh is not None:
                header = {"video": {"path": str(args.video), "fps": info.fps, "frames": n_frames,
                                    "width": info.width_px, "height": info.height_px}}
                if args.perturb is not None:
                    header["perturb_seed"] = args.perturb
                try:
                    keypoints_io.write(kp_fh, results, header)
                    kp_fh.close()
                    kp_tmp.replace(args.out)
                except OSError as err:  # disk full, quota: the except below removes the .part file
                    raise output_error(args.out, err, "; an earlier file of that name is left as it was") from err
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            if kp_fh is not None:
                with contextlib.suppress(OSError):  # flushing to the disk that just filled fails again
                    kp_fh.close()
                kp_tmp.unlink(missing_ok=True)
            raise
        ended_early = source.ended_early_message()
    total_s = time.perf_counter() - t_start
    if ended_early is not None:
        warn_user(f"{ended_early}; keypoints and video cover only those frames")
    if n_frames == 0:
        raise BadInputError(f"{args.video}: no frames decoded")
    print(f"{n_frames} frames, person found in {n_found}; "
          f"{n_frames / total_s:.1f} fps overall, {n_frames / pose_s:.1f} fps pose stage "
          f"({1000 * pose_s / n_frames:.1f} ms/frame; detector ran {engine.stats.detector_runs}×)")
    if n_found == 0:
        warn_user(f"{args.video}: no person was found in this video")
    return 0
