#!/usr/bin/env python3
"""Run the CMU mocap trials through the real analyzer as 2D keypoints; print initiation and lean errors.

Why a script and not a ``leancam eval`` option: the mocap has no video and no label file — its
truth is computed from the mocap itself (appliance/analysis/mocap.py) — and it is a developer's
check, not something a coach runs on the appliance; ``leancam eval`` stays about clips and labels.
``--out DIR`` also writes each projection as a keypoints file, so ``leancam analyze X.mp4
--keypoints DIR/<trial>_<fps>fps_<dir>.jsonl --events`` shows what the analyzer made of it.

    .venv/bin/python scripts/mocap_check.py                 # 3 trials × 30/50/60 fps × both directions × 5 seeds
    .venv/bin/python scripts/mocap_check.py --seeds 1 --no-jitter --out /tmp/mocap_kp
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance import paths
from appliance.analysis import mocap
from appliance.pose import keypoints_io

log = logging.getLogger("mocap_check")
TRIALS = ("143_03", "104_06", "09_01")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, default=paths.shared_data_dir() / "mocap_cmu")
    p.add_argument("--trials", nargs="*", default=list(TRIALS))
    p.add_argument("--fps", nargs="*", type=float, default=[30.0, 50.0, 60.0])
    p.add_argument("--seeds", type=int, default=5, help="jitter seeds per case (0..N-1)")
    p.add_argument("--no-jitter", action="store_true", help="exact projection (no noise, no drops)")
    p.add_argument("--out", type=Path, help="also write the keypoints of seed 0 to this folder")
    args = p.parse_args(argv)
    if not args.data_dir.is_dir():
        print(f"mocap_check: {args.data_dir}: no such folder (../shared/data/mocap_cmu)", file=sys.stderr)
        return 2
    print(f"{'trial':7s} {'fps':>3s} {'dir':3s} {'truth: push toe-off s':>21s} {'lean°':>6s} {'fired':>5s} "
          f"{'init err fr (per seed)':>26s} {'lean err ° (per seed)':>32s}")
    for name in args.trials:
        m = mocap.parse_sagittal_csv((args.data_dir / f"{name}_sagittal_xy_m.csv").read_text(), name)
        truth = mocap.start_truth(m)
        for fps in args.fps:
            for mirror in (False, True):
                checks = []
                for seed in range(args.seeds):
                    jit = mocap.NO_JITTER if args.no_jitter else mocap.Jitter(seed=seed)
                    checks.append(mocap.check(m, fps, mirror, jit))
                    if args.out is not None and seed == 0:
                        args.out.mkdir(parents=True, exist_ok=True)
                        out = args.out / f"{name}_{fps:g}fps_{'rtl' if mirror else 'ltr'}.jsonl"
                        with out.open("w") as fh:
                            keypoints_io.write(fh, mocap.project(m, fps, mocap.Camera(), jit, mirror),
                                               {"source": f"CMU mocap {name}", "fps": fps})
                fired = sum(c.initiations > 0 for c in checks)
                errs = " ".join("-" if c.error_frames is None else f"{c.error_frames:+.1f}" for c in checks)
                leans = " ".join("-" if c.lean_error_deg is None else f"{c.lean_error_deg:+.1f}" for c in checks)
                t = "none (running)" if truth is None else f"{truth.push_foot} {truth.push_toe_off_t_s:.3f}"
                lean = "-" if truth is None else f"{truth.lean_deg:.1f}"
                print(f"{name:7s} {fps:3.0f} {'rtl' if mirror else 'ltr':3s} {t:>21s} {lean:>6s} "
                      f"{fired:>2d}/{len(checks):<2d} {errs:>26s} {leans:>32s}")
                errs_ok = [abs(c.error_frames) for c in checks if c.error_frames is not None]
                if errs_ok:
                    log.debug("%s %s fps: median |err| %.2f", name, fps, float(np.median(errs_ok)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
