"""Make calibration and hold-out inputs from real running clips (detector → ROI → 256² crop).

For every sampled frame: letterbox it for the detector (kept as a detector input), run the fp32
detector, turn the best detection into MediaPipe's rotated square ROI and warp the landmark crop;
then run the fp32 landmark model on that crop and, if a pose is present, also warp the crop that
tracking would use (ROI from landmarks 33/34), since on the appliance most crops come from tracking.

Clips are read in place from ``../shared/data`` (not redistributable: nothing is copied into the
repo); the arrays go to ``build/model-build/`` (git-ignored).

    .venv/bin/python -m models.build.crops            # both splits
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from models.build import blazepose as bp

log = logging.getLogger("models.build.crops")

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
WORK = REPO / "build" / "model-build"
ORIG_DET = REPO / "models" / "blazepose" / "pose_detection.tflite"
ORIG_LMK = REPO / "models" / "blazepose" / "pose_landmark_full.tflite"

# Calibrate on some clips, hold out others (different scenes, cameras and a non-running clip).
SPLITS: dict[str, list[tuple[Path, int]]] = {
    "calib": [
        *[(DATA / "sprint_starts" / f"b{i}.mp4", 6) for i in (2, 3, 4, 5)],
        (DATA / "track_run_pan.mp4", 6),
    ],
    "holdout": [
        (DATA / "treadmill_slowmo.mp4", 10),
        *[(DATA / "sprint_starts" / f"b{i}.mp4", 6) for i in (6, 7, 8)],
        (REPO / "models" / "demo" / "demo.mp4", 10),
    ],
}


def frames(path: Path, stride: int) -> Iterator[tuple[int, np.ndarray]]:
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % stride == 0:
                yield i, frame.to_ndarray(format="rgb24")


class Fp32Models:
    """The original (fp16-weight) models; fold_fp16 makes them bit-identical in fp32 on XNNPACK."""

    def __init__(self, det_path: Path = ORIG_DET, lmk_path: Path = ORIG_LMK) -> None:
        self.det = Interpreter(model_path=str(det_path), num_threads=2)
        self.lmk = Interpreter(model_path=str(lmk_path), num_threads=2)
        for it in (self.det, self.lmk):
            it.allocate_tensors()

    def detect(self, det_u8: np.ndarray, lb: bp.Letterbox) -> list[bp.Detection]:
        it = self.det
        it.set_tensor(it.get_input_details()[0]["index"], bp.det_normalize(det_u8))
        it.invoke()
        outs = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
        return bp.decode_detections(outs["Identity"], outs["Identity_1"], lb)

    def landmarks(self, crop_u8: np.ndarray) -> tuple[np.ndarray, float]:
        it = self.lmk
        it.set_tensor(it.get_input_details()[0]["index"], bp.lmk_normalize(crop_u8))
        it.invoke()
        outs = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
        return bp.landmarks_xy(outs["Identity"][0]), float(outs["Identity_1"].reshape(-1)[0])


def build_split(name: str, models: Fp32Models, out: Path) -> None:
    det_imgs, det_lb, det_src = [], [], []
    crops, crop_src = [], []
    for clip, stride in SPLITS[name]:
        if not clip.is_file():
            raise FileNotFoundError(f"{clip} missing (the shared clips live in ../shared/data)")
        n_before = len(crops)
        for idx, rgb in frames(clip, stride):
            det_u8, lb = bp.detector_input(rgb)
            det_imgs.append(det_u8)
            det_lb.append((lb.scale, lb.pad_x, lb.pad_y))
            det_src.append(f"{clip.name}:{idx}")
            dets = models.detect(det_u8, lb)
            if not dets:
                continue
            roi = bp.roi_from_detection(dets[0])
            crop = bp.warp_crop(rgb, roi)
            crops.append(crop)
            crop_src.append(f"{clip.name}:{idx}:det")
            xy, presence = models.landmarks(crop)
            if presence > 0.5:
                crops.append(bp.warp_crop(rgb, bp.roi_from_landmarks(xy, roi)))
                crop_src.append(f"{clip.name}:{idx}:track")
        log.info("%s: %s → %d crops", name, clip.name, len(crops) - n_before)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, det_inputs=np.stack(det_imgs), det_letterbox=np.asarray(det_lb, dtype=np.float32),
        det_source=np.asarray(det_src), crops=np.stack(crops), crop_source=np.asarray(crop_src),
    )
    log.info("%s: %d detector inputs, %d landmark crops → %s", name, len(det_imgs), len(crops), out)


def load_split(name: str, work: Path = WORK) -> dict[str, np.ndarray]:
    path = work / f"{name}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `python -m models.build.crops` first")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all")
    parser.add_argument("--work-dir", type=Path, default=WORK)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    models = Fp32Models()
    for name in SPLITS if args.split == "all" else [args.split]:
        build_split(name, models, args.work_dir / f"{name}.npz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
