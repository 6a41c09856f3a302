"""Accuracy and latency gate for every built BlazePose variant; writes ``models/built/manifest.json``.

Each variant is compared with the fp32 model on the *held-out* split made by ``crops.py`` (clips not
used for calibration):

- landmark model: 2-D deviation of the 33 landmarks in px at 256 (mean / p95 / max over every
  landmark of every crop the fp32 model calls a pose; crops without a pose are not used downstream),
  the same mean over landmarks fp32 calls visible, the trunk-lean angle deviation in degrees (hip
  centre → shoulder centre, what the lean verdict reads), and pose-presence agreement (both sides
  of 0.5);
- detector: recall of the fp32 detections (a variant detection with box IoU ≥ 0.5) and the mean
  keypoint deviation of matched detections in px at 224;
- both: raw ``invoke()`` latency ratio vs fp32, measured in this run with ai-edge-litert
  (num_threads=2, XNNPACK), warm-up then rounds that interleave the variants so machine noise hits
  all of them alike (per round and variant: one untimed invoke to warm its cache, two timed); the
  median over all rounds is used. Only ratios are meaningful.

Gate: landmark mean ≤ 3 px and latency ≤ 0.6× fp32 (issue 8's goal); detector recall ≥ 0.95,
keypoint mean ≤ 3 px at 224 and latency ≤ 1.0× fp32. The manifest's ``default`` per model is the
fastest variant that passes with a 20 % accuracy margin (landmark mean ≤ 2.4 px, detector keypoints
≤ 2.4 px), else the fastest that passes, else the fp32 reference. The margin is there because these
are estimates from a few hundred crops of five clips (one variant moved from 2.2 px on the
calibration clips to 2.9 px on the hold-out ones): a variant 0.1 px under the limit is not a safe
default.

Shipping: quantized variants that pass are marked ``shipped`` and are the only .tflite files git
tracks here (this script rewrites ``models/built/.gitignore`` to say so). fp32 files are not
shipped: ``fp32`` is bit-identical to the fetched original (``use_instead`` in the manifest) and
``fp32_noseg`` is rebuilt from it by fold_fp16.py with ai-edge-litert alone.

    .venv/bin/python -m models.build.gate [--rounds 50]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import statistics
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from models.build import blazepose as bp
from models.build.crops import WORK, load_split

log = logging.getLogger("models.build.gate")

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "models" / "built"
MODELS = {"detector": "pose_detection", "landmark": "pose_landmark_full",
          "landmark_lite": "pose_landmark_lite"}  # the lite profile's landmark model (issue 19)
VARIANT_ORDER = ["fp32", "fp32_noseg", "wi8", "dyn8", "int8", "int8f", "int8_noseg", "int8f_noseg",
                 "mixed", "mixed_noseg", "mixedhead_noseg", "mixedlite_noseg"]
GATE = {
    "landmark": {"mean_px": 3.0, "latency_ratio": 0.6},
    "detector": {"recall": 0.95, "kp_mean_px": 3.0, "latency_ratio": 1.0},
    # The lite profile's landmark model, against its own fp32 file: as close as the full model's
    # variants (3 px), and not slower than it (1.0×). The first run used 0.6× (copied from the full
    # model) and showed no quantized lite variant within 3 px (best 5.65 px, wi8; mixedhead 6.05 px):
    # with 0.6× the lite profile would have had no shippable file. Its speed goal is against the
    # *full* model (lite ÷ full, `leancam bench pose`), not against its own original.
    "landmark_lite": {"mean_px": 3.0, "latency_ratio": 1.0},
}
DEFAULT_MARGIN = 0.8  # default variant: accuracy within 80 % of the gate's limit


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Runner:
    """One interpreter; hides int8 input/output tensors (quantize in, dequantize out)."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        self.it = Interpreter(model_path=str(path), num_threads=threads)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]
        self.outs = self.it.get_output_details()

    def set_input(self, x: np.ndarray) -> None:
        if self.inp["dtype"] == np.float32:
            self.it.set_tensor(self.inp["index"], x)
            return
        scale, zp = self.inp["quantization"]
        info = np.iinfo(self.inp["dtype"])
        q = np.clip(np.round(x / scale) + zp, info.min, info.max).astype(self.inp["dtype"])
        self.it.set_tensor(self.inp["index"], q)

    def outputs(self) -> dict[str, np.ndarray]:
        res = {}
        for d in self.outs:
            v = self.it.get_tensor(d["index"])
            if d["dtype"] != np.float32:
                scale, zp = d["quantization"]
                v = (v.astype(np.float32) - zp) * scale
            res[d["name"]] = v
        return res

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        self.set_input(x)
        self.it.invoke()
        return self.outputs()


@dataclass
class LandmarkOut:
    xy: np.ndarray  # (N, 33, 2) crop px
    visibility: np.ndarray  # (N, 33) after sigmoid
    presence: np.ndarray  # (N,)


def run_landmark(runner: Runner, crops: np.ndarray) -> LandmarkOut:
    xy, vis, pres = [], [], []
    for c in crops:
        o = runner(bp.lmk_normalize(c))
        raw = o["Identity"].reshape(39, 5)
        xy.append(raw[: bp.NUM_LANDMARKS, :2])
        vis.append(1 / (1 + np.exp(-raw[: bp.NUM_LANDMARKS, 3])))
        pres.append(float(o["Identity_1"].reshape(-1)[0]))
    return LandmarkOut(np.asarray(xy), np.asarray(vis), np.asarray(pres))


def _trunk_angle(xy: np.ndarray) -> np.ndarray:
    v = (xy[:, 11] + xy[:, 12]) / 2 - (xy[:, 23] + xy[:, 24]) / 2
    return np.degrees(np.arctan2(v[:, 0], -v[:, 1]))


def _wrap_deg(a: np.ndarray) -> np.ndarray:
    return (a + 180.0) % 360.0 - 180.0


def landmark_metrics(ref: LandmarkOut, var: LandmarkOut, clips: np.ndarray) -> dict[str, Any]:
    posed = ref.presence > 0.5
    dist = np.linalg.norm(var.xy - ref.xy, axis=-1)[posed]  # (n_posed, 33)
    visible = ref.visibility[posed] > 0.5
    posed_clips = clips[posed]
    # What the product reads: the trunk's lean, hip centre (23/24) → shoulder centre (11/12). Both
    # models see the same crop, so the angle difference needs no un-rotation.
    angle_dev = np.abs(_wrap_deg(_trunk_angle(var.xy) - _trunk_angle(ref.xy)))[posed]
    return {
        "trunk_angle_dev_mean_deg": float(angle_dev.mean()),
        "trunk_angle_dev_p95_deg": float(np.percentile(angle_dev, 95)),
        "mean_px_by_clip": {c: round(float(dist[posed_clips == c].mean()), 3) for c in sorted(set(posed_clips))},
        "mean_px": float(dist.mean()),
        "p95_px": float(np.percentile(dist, 95)),
        "max_px": float(dist.max()),
        "visible_mean_px": float(dist[visible].mean()),
        "presence_agreement": float(((var.presence > 0.5) == (ref.presence > 0.5)).mean()),
        "n_crops": len(ref.presence),
        "n_posed": int(posed.sum()),
    }


def run_detector(runner: Runner, det_inputs: np.ndarray, letterbox: np.ndarray) -> list[list[bp.Detection]]:
    out = []
    for img, (scale, px, py) in zip(det_inputs, letterbox, strict=True):
        o = runner(bp.det_normalize(img))
        out.append(bp.decode_detections(o["Identity"], o["Identity_1"], bp.Letterbox(float(scale), px, py)))
    return out


def detector_metrics(ref: list[list[bp.Detection]], var: list[list[bp.Detection]], letterbox: np.ndarray) -> dict:
    total = matched = 0
    kp_dev: list[float] = []
    for r_dets, v_dets, (scale, _, _) in zip(ref, var, letterbox, strict=True):
        for r in r_dets:
            total += 1
            ious = [bp.box_iou(r.box, v.box) for v in v_dets]
            if ious and max(ious) >= 0.5:
                matched += 1
                v = v_dets[int(np.argmax(ious))]
                kp_dev.extend((np.linalg.norm(v.keypoints - r.keypoints, axis=-1) * scale).tolist())
    extra = sum(max(0, len(v) - len(r)) for r, v in zip(ref, var, strict=True))
    return {
        "recall": matched / total if total else 1.0,
        "kp_mean_px": float(np.mean(kp_dev)) if kp_dev else float("nan"),
        "extra_detections": int(extra),
        "n_reference_detections": total,
    }


def measure_latency(runners: dict[str, Runner], x: np.ndarray, rounds: int, warmup: int = 5) -> dict[str, float]:
    """Median invoke ms per variant, measured in interleaved rounds (fair under machine noise).

    Each round gives every variant one untimed invoke (so its weights are back in cache, as on the
    appliance, where the landmark model runs frame after frame) and then times two invokes.
    """
    for r in runners.values():
        r.set_input(x)
        for _ in range(warmup):
            r.it.invoke()
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(rounds):
        for name, r in runners.items():
            r.it.invoke()
            for _ in range(2):
                t0 = time.perf_counter()
                r.it.invoke()
                times[name].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def _variants(model: str) -> dict[str, Path]:
    found = {}
    for v in VARIANT_ORDER:
        p = BUILT / f"{MODELS[model]}_{v}.tflite"
        if p.is_file():
            found[v] = p
    if "fp32" not in found:
        raise FileNotFoundError(f"{MODELS[model]}_fp32.tflite missing: run models.build.fold_fp16 first")
    return found


def gate_model(model: str, split: dict[str, np.ndarray], rounds: int) -> dict[str, dict[str, Any]]:
    paths = _variants(model)
    runners = {v: Runner(p) for v, p in paths.items()}
    results: dict[str, dict[str, Any]] = {}
    if model.startswith("landmark"):
        ref = run_landmark(runners["fp32"], split["crops"])
        clips = np.asarray([s.split(":")[0] for s in split["crop_source"]])
        for v, r in runners.items():
            results[v] = landmark_metrics(ref, ref if v == "fp32" else run_landmark(r, split["crops"]), clips)
        x = bp.lmk_normalize(split["crops"][0])
    else:
        ref_d = run_detector(runners["fp32"], split["det_inputs"], split["det_letterbox"])
        for v, r in runners.items():
            var_d = ref_d if v == "fp32" else run_detector(r, split["det_inputs"], split["det_letterbox"])
            results[v] = detector_metrics(ref_d, var_d, split["det_letterbox"])
        x = bp.det_normalize(split["det_inputs"][0])
    lat = measure_latency(runners, x, rounds)
    g = GATE[model]
    for v, res in results.items():
        res["latency_ms"] = round(lat[v], 3)
        res["latency_ratio"] = round(lat[v] / lat["fp32"], 3)
        if "fp32_noseg" in lat:
            # How much is quantization, as opposed to dropping the unused segmentation branch.
            res["latency_ratio_vs_fp32_noseg"] = round(lat[v] / lat["fp32_noseg"], 3)
        if model.startswith("landmark"):
            acc_ok = res["mean_px"] <= g["mean_px"]
        else:
            acc_ok = res["recall"] >= g["recall"] and not res["kp_mean_px"] > g["kp_mean_px"]
        res["accuracy_pass"] = bool(acc_ok)
        res["speed_pass"] = bool(res["latency_ratio"] <= g["latency_ratio"])
        res["pass"] = bool(acc_ok and res["speed_pass"])
        res["file"] = str(paths[v].relative_to(REPO))
        res["size_bytes"] = paths[v].stat().st_size
        res["sha256"] = sha256_of(paths[v])
    return results


def _pkg_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def print_table(all_results: dict[str, dict[str, dict[str, Any]]]) -> None:
    lm = all_results.get("landmark", {})
    if lm:
        print("\nlandmark model (hold-out crops; px at 256)")
        print(f"{'variant':16} {'mean':>6} {'p95':>6} {'max':>7} {'vis.mean':>8} {'trunk°':>6} {'p95°':>5} "
              f"{'agree':>6} {'ms':>7} {'ratio':>6} {'/noseg':>6} {'MB':>6}  gate")
        for v, r in lm.items():
            print(f"{v:16} {r['mean_px']:6.2f} {r['p95_px']:6.2f} {r['max_px']:7.1f} {r['visible_mean_px']:8.2f} "
                  f"{r['trunk_angle_dev_mean_deg']:6.2f} {r['trunk_angle_dev_p95_deg']:5.1f} "
                  f"{r['presence_agreement']:6.1%} {r['latency_ms']:7.2f} {r['latency_ratio']:6.2f} "
                  f"{r.get('latency_ratio_vs_fp32_noseg', float('nan')):6.2f} {r['size_bytes'] / 1e6:6.2f}  "
                  f"{_verdict(r)}")
    _print_lite(all_results.get("landmark_lite", {}))
    det = all_results.get("detector", {})
    if det:
        print("\ndetector (hold-out frames; keypoints px at 224)")
        print(f"{'variant':16} {'recall':>7} {'kp mean':>8} {'extra':>6} {'ms':>7} {'ratio':>6} {'MB':>6}  gate")
        for v, r in det.items():
            print(f"{v:16} {r['recall']:7.1%} {r['kp_mean_px']:8.2f} {r['extra_detections']:6d} {r['latency_ms']:7.2f} "
                  f"{r['latency_ratio']:6.2f} {r['size_bytes'] / 1e6:6.2f}  {_verdict(r)}")


def _print_lite(lm: dict[str, dict[str, Any]]) -> None:
    """The lite landmark model's table (issue 19), same columns as the full model's."""
    if not lm:
        return
    print("\nlite landmark model (hold-out crops; px at 256, vs the lite fp32 model)")
    print(f"{'variant':16} {'mean':>6} {'p95':>6} {'max':>7} {'vis.mean':>8} {'trunk°':>6} {'p95°':>5} "
          f"{'agree':>6} {'ms':>7} {'ratio':>6} {'/noseg':>6} {'MB':>6}  gate")
    for v, r in lm.items():
        print(f"{v:16} {r['mean_px']:6.2f} {r['p95_px']:6.2f} {r['max_px']:7.1f} {r['visible_mean_px']:8.2f} "
              f"{r['trunk_angle_dev_mean_deg']:6.2f} {r['trunk_angle_dev_p95_deg']:5.1f} "
              f"{r['presence_agreement']:6.1%} {r['latency_ms']:7.2f} {r['latency_ratio']:6.2f} "
              f"{r.get('latency_ratio_vs_fp32_noseg', float('nan')):6.2f} {r['size_bytes'] / 1e6:6.2f}  "
              f"{_verdict(r)}")


def _verdict(r: dict[str, Any]) -> str:
    if r["pass"]:
        return "PASS"
    why = [w for w, ok in (("accuracy", r["accuracy_pass"]), ("speed", r["speed_pass"])) if not ok]
    return "fail (" + ", ".join(why) + ")"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50, help="timed invokes per variant (≥ 30)")
    parser.add_argument("--models", default="detector,landmark")
    parser.add_argument("--work-dir", type=Path, default=WORK)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    split = load_split("holdout", args.work_dir)
    results = {m: gate_model(m, split, max(args.rounds, 30)) for m in args.models.split(",")}
    print_table(results)
    if args.no_write:
        return 0
    manifest = {
        "schema": 1,
        "about": "BlazePose variants built by models/build (see README.md there and NOTICE here)",
        "gate": GATE,
        "default_rule": f"fastest variant that passes with accuracy ≤ {DEFAULT_MARGIN:.0%} of the limit, "
                        "else fastest that passes, else fp32",
        "reference": "fp32 (mediapipe 0.10.14 files with fp16 weights folded to fp32; bit-identical outputs)",
        "holdout": sorted({s.split(":")[0] for s in split["crop_source"]}),
        "measured_with": {"ai-edge-litert": _pkg_version("ai-edge-litert"), "num_threads": 2,
                          "rounds": max(args.rounds, 30)},
        "built_with": {"ai-edge-quantizer": "0.10.0"},
        "models": {},
    }
    for m, res in results.items():
        key = "mean_px" if m.startswith("landmark") else "kp_mean_px"
        limit = GATE[m][key] * DEFAULT_MARGIN
        passing = [v for v in res if res[v]["pass"]]
        safe = [v for v in passing if res[v][key] <= limit]
        pool = safe or passing
        default = min(pool, key=lambda v: res[v]["latency_ratio"]) if pool else "fp32"
        manifest["models"][m] = {"name": MODELS[m], "default": default, "variants": res}
    # Models not gated in this run keep their entries, order and run settings (``--models
    # landmark_lite`` alone re-gates one); this run's settings then go into the entries it wrote.
    out = BUILT / "manifest.json"
    if out.is_file():
        old = json.loads(out.read_text())
        kept = [m for m in old.get("models", {}) if m not in manifest["models"]]
        if kept:
            for m in manifest["models"]:
                manifest["models"][m]["measured_with"] = manifest["measured_with"]
            manifest["measured_with"] = old.get("measured_with", manifest["measured_with"])
            manifest["models"] = {m: manifest["models"].get(m) or old["models"][m]
                                  for m in [*old["models"], *(m for m in manifest["models"] if m not in old["models"])]}
    shipped = []
    for m, entry in manifest["models"].items():
        for v, res in entry["variants"].items():
            # fp32 files are rebuilt from the fetched originals, except the lite model's: its original is
            # an optional asset (npm, absent on a stock Pi), so its exact fp32_noseg file ships.
            res["shipped"] = bool(res["pass"] and (not v.startswith("fp32")
                                                   or (m == "landmark_lite" and v == "fp32_noseg")))
            if res["shipped"]:
                shipped.append(Path(res["file"]).name)
            if v == "fp32":
                res["use_instead"] = f"models/blazepose/{MODELS[m]}.tflite"
    (BUILT / ".gitignore").write_text(
        "# Written by models/build/gate.py: only variants that pass the gate are committed.\n*.tflite\n"
        + "".join(f"!{name}\n" for name in sorted(shipped))
    )
    out = BUILT / "manifest.json"
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
