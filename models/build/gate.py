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
import platform
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from appliance.pose.variants import figure_key
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


def detector_metrics(ref: list[list[bp.Detection]], var: list[list[bp.Detection]], letterbox: np.ndarray,
                     clips: np.ndarray | None = None) -> dict:
    """Recall and keypoint deviation of matched detections: each fp32 detection is paired with the
    variant detection of largest box IoU (≥ 0.5), i.e. the same person, whatever the score order."""
    total = matched = 0
    kp_dev: list[float] = []
    by_clip: dict[str, list[float]] = {}
    n_clip: dict[str, list[int]] = {}  # clip → [reference detections, matched]
    clip_names = clips if clips is not None else np.full(len(ref), "all")
    for r_dets, v_dets, (scale, _, _), clip in zip(ref, var, letterbox, clip_names, strict=True):
        for r in r_dets:
            total += 1
            counts = n_clip.setdefault(str(clip), [0, 0])
            counts[0] += 1
            ious = [bp.box_iou(r.box, v.box) for v in v_dets]
            if ious and max(ious) >= 0.5:
                matched += 1
                counts[1] += 1
                v = v_dets[int(np.argmax(ious))]
                d = (np.linalg.norm(v.keypoints - r.keypoints, axis=-1) * scale).tolist()
                kp_dev.extend(d)
                by_clip.setdefault(str(clip), []).extend(d)
    extra = sum(max(0, len(v) - len(r)) for r, v in zip(ref, var, strict=True))
    return {
        "recall": matched / total if total else 1.0,
        "kp_mean_px": float(np.mean(kp_dev)) if kp_dev else float("nan"),
        **({"kp_mean_px_by_clip": {c: round(float(np.mean(v)), 3) for c, v in sorted(by_clip.items())},
            "recall_by_clip": {c: round(m / n, 4) for c, (n, m) in sorted(n_clip.items())}}
           if clips is not None else {}),
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


def measure_accuracy(model: str, split: dict[str, np.ndarray], only: set[str] | None = None,
                     ) -> tuple[dict[str, dict[str, Any]], dict[str, Runner], np.ndarray]:
    """Accuracy of every variant (or those in ``only``; fp32 always) against fp32 on this machine's
    kernels. Returns the metrics, the runners and one model input (for the latency rounds)."""
    paths = {v: p for v, p in _variants(model).items() if only is None or v == "fp32" or v in only}
    runners = {v: Runner(p) for v, p in paths.items()}
    results: dict[str, dict[str, Any]] = {}
    if model.startswith("landmark"):
        ref = run_landmark(runners["fp32"], split["crops"])
        clips = np.asarray([s.split(":")[0] for s in split["crop_source"]])
        for v, r in runners.items():
            log.info("landmark %s", v)
            results[v] = landmark_metrics(ref, ref if v == "fp32" else run_landmark(r, split["crops"]), clips)
        x = bp.lmk_normalize(split["crops"][0])
    else:
        det_clips = np.asarray([s.split(":")[0] for s in split["det_source"]])
        ref_d = run_detector(runners["fp32"], split["det_inputs"], split["det_letterbox"])
        for v, r in runners.items():
            log.info("detector %s", v)
            var_d = ref_d if v == "fp32" else run_detector(r, split["det_inputs"], split["det_letterbox"])
            results[v] = detector_metrics(ref_d, var_d, split["det_letterbox"], det_clips)
        x = bp.det_normalize(split["det_inputs"][0])
    for v, res in results.items():
        res["file"] = str(paths[v].relative_to(REPO))
        res["size_bytes"] = paths[v].stat().st_size
        res["sha256"] = sha256_of(paths[v])
    return results, runners, x


def gate_model(model: str, split: dict[str, np.ndarray], rounds: int) -> dict[str, dict[str, Any]]:
    results, runners, x = measure_accuracy(model, split)
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
    return results


# --- kernel families -----------------------------------------------------------------------------
# XNNPACK picks its int8 (and fp32) kernels by CPU features at run time, so a quantized variant's
# deviation is a property of the model *and* the kernels. The manifest keeps one figure per kernel
# family; the accuracy gate and the tests use the worst.
_LANDMARK_KEYS = ("mean_px", "p95_px", "max_px", "mean_px_by_clip", "presence_agreement", "trunk_angle_dev_mean_deg")
KERNEL_KEYS = {
    "detector": ("recall", "kp_mean_px", "kp_mean_px_by_clip", "recall_by_clip", "extra_detections"),
    "landmark": _LANDMARK_KEYS,
    "landmark_lite": _LANDMARK_KEYS,
}


def cpu_flags() -> set[str]:
    flags: set[str] = set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags |= set(value.split())
    return flags


def kernel_family(machine: str | None = None, flags: set[str] | None = None) -> str:
    """Name of the XNNPACK kernel family this CPU gets (the most capable ISA level it dispatches on).

    x86: AVX-512 VNNI, AVX-512 (F+BW), AVX-VNNI, AVX2+FMA, older. arm64: I8MM, dot product (Pi 5's
    Cortex-A76), plain NEON (Pi 4's Cortex-A72). Under qemu-user /proc/cpuinfo is what the run
    bind-mounts, so pass ``--kernel-family`` explicitly there.
    """
    machine = machine or platform.machine()
    flags = cpu_flags() if flags is None else flags
    if machine in ("x86_64", "AMD64"):
        if "avx512_vnni" in flags or "avx512vnni" in flags:
            return "x86_64-avx512vnni"
        if "avx512f" in flags and "avx512bw" in flags:
            return "x86_64-avx512"
        if "avx_vnni" in flags:
            return "x86_64-avxvnni"
        if "avx2" in flags and "fma" in flags:
            return "x86_64-avx2"
        return "x86_64-sse"
    if machine in ("aarch64", "arm64"):
        if "i8mm" in flags:
            return "arm64-i8mm"
        if "asimddp" in flags:
            return "arm64-neondot"
        return "arm64-neon"
    return machine


def kernel_record(model: str, res: dict[str, Any]) -> dict[str, Any]:
    return {k: res[k] for k in KERNEL_KEYS[model] if k in res}


def _passes(model: str, fig: dict[str, Any]) -> bool:
    g = GATE[model]
    if model != "detector":
        return bool(fig["mean_px"] <= g["mean_px"])
    return bool(fig["recall"] >= g["recall"] and not fig["kp_mean_px"] > g["kp_mean_px"])


def apply_kernel_figures(manifest: dict[str, Any]) -> None:
    """Worst figure per variant over its measured kernel families → ``worst_kernel``,
    ``accuracy_pass``, ``pass``, ``shipped`` and each model's ``default`` (same rule as before, on
    the worst figures)."""
    for m, entry in manifest["models"].items():
        key = figure_key(m)
        for v, res in entry["variants"].items():
            by = res.get("by_kernel") or {}
            if not by:
                continue
            fam = max(by, key=lambda f: (by[f][key], f))
            worst: dict[str, Any] = {"family": fam, key: by[fam][key]}
            if m == "detector":
                worst["recall"] = min(f["recall"] for f in by.values())
                rclips = {c for f in by.values() for c in f.get("recall_by_clip", {})}
                worst["recall_by_clip"] = {c: min(f.get("recall_by_clip", {}).get(c, 1.0) for f in by.values())
                                           for c in sorted(rclips)}
            clips = {c for f in by.values() for c in f.get(f"{key}_by_clip", {})}
            if clips:
                worst[f"{key}_by_clip"] = {c: max(f.get(f"{key}_by_clip", {}).get(c, 0.0) for f in by.values())
                                           for c in sorted(clips)}
            worst["families"] = sorted(by)
            res["worst_kernel"] = worst
            res["accuracy_pass"] = all(_passes(m, f) for f in by.values())
            res["pass"] = bool(res["accuracy_pass"] and res.get("speed_pass", False))
            if v.startswith("fp32"):
                res["shipped"] = False
            elif "shipped" in res:
                res["shipped"] = bool(res["shipped"] and res["pass"])
        res_all = entry["variants"]
        limit = (GATE[m][key]) * DEFAULT_MARGIN
        passing = [v for v in res_all if res_all[v]["pass"] and (v.startswith("fp32") or res_all[v].get("shipped"))]
        fig = {v: res_all[v].get("worst_kernel", {}).get(key, res_all[v][key]) for v in passing}
        safe = [v for v in passing if fig[v] <= limit]
        pool = safe or passing
        entry["default"] = min(pool, key=lambda v: res_all[v]["latency_ratio"]) if pool else "fp32"


def merge_kernel_file(manifest: dict[str, Any], path: Path) -> str:
    """Record one ``--kernel-family`` result file in the manifest (variants whose sha256 matches)."""
    data = json.loads(path.read_text())
    fam = data["family"]
    manifest.setdefault("kernel_families", {})[fam] = {k: v for k, v in data.items() if k != "models"}
    for m, variants in data["models"].items():
        entries = manifest["models"].get(m, {}).get("variants", {})
        for v, res in variants.items():
            if v in entries and entries[v].get("sha256") == res.get("sha256"):
                entries[v].setdefault("by_kernel", {})[fam] = kernel_record(m, res)
            else:
                log.warning("%s: %s %s not in the manifest or another file (sha256); skipped", path, m, v)
    return fam


def write_gitignore(manifest: dict[str, Any]) -> None:
    shipped = sorted(Path(res["file"]).name for e in manifest["models"].values()
                     for res in e["variants"].values() if res.get("shipped"))
    (BUILT / ".gitignore").write_text(
        "# Written by models/build/gate.py: only variants that pass the gate are committed.\n*.tflite\n"
        + "".join(f"!{name}\n" for name in shipped)
    )


def kernel_family_run(args: argparse.Namespace, split: dict[str, np.ndarray]) -> int:
    """Accuracy only (no latency: emulated or foreign CPUs), written to ``--out`` for ``--merge``."""
    family = args.kernel_family if args.kernel_family != "auto" else kernel_family()
    only = None
    if args.shipped_only:
        manifest = json.loads((BUILT / "manifest.json").read_text())
        only = {v for e in manifest["models"].values() for v, r in e["variants"].items() if r.get("shipped")}
    out: dict[str, Any] = {
        "family": family,
        "machine": platform.machine(),
        "cpu_flags": sorted(f for f in cpu_flags() if f.startswith(("avx", "fma", "asimd", "i8mm", "sve"))),
        "how": args.how,
        "ai-edge-litert": _pkg_version("ai-edge-litert"),
        "inputs": "hold-out arrays of build/model-build (made on x86 by crops.py; the same inputs on every family)",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "models": {},
    }
    for m in args.models.split(","):
        results, _, _ = measure_accuracy(m, split, only)
        out["models"][m] = results
        key = figure_key(m)
        for v, r in results.items():
            print(f"{family:18} {m:9} {v:16} {key} {r[key]:.3f}"
                  + (f"  recall {r['recall']:.3f}" if m == "detector" else ""))
    dest = args.out or (args.work_dir / f"kernel-{family}.json")
    dest.write_text(json.dumps(out, indent=2) + "\n")
    log.info("wrote %s", dest)
    return 0


def _pkg_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def print_table(all_results: dict[str, dict[str, dict[str, Any]]]) -> None:
    _print_landmark(all_results.get("landmark", {}), "landmark model (hold-out crops; px at 256)")
    _print_landmark(all_results.get("landmark_lite", {}),
                    "lite landmark model (hold-out crops; px at 256, vs the lite fp32 model)")
    det = all_results.get("detector", {})
    if det:
        print("\ndetector (hold-out frames; keypoints px at 224)")
        print(f"{'variant':16} {'recall':>7} {'kp mean':>8} {'extra':>6} {'ms':>7} {'ratio':>6} {'MB':>6}  gate")
        for v, r in det.items():
            print(f"{v:16} {r['recall']:7.1%} {r['kp_mean_px']:8.2f} {r['extra_detections']:6d} {r['latency_ms']:7.2f} "
                  f"{r['latency_ratio']:6.2f} {r['size_bytes'] / 1e6:6.2f}  {_verdict(r)}")


def _print_landmark(lm: dict[str, dict[str, Any]], title: str) -> None:
    """One landmark model's table (full or lite: the same columns)."""
    if not lm:
        return
    print(f"\n{title}")
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
    parser.add_argument("--kernel-family", metavar="NAME",
                        help="accuracy only, on this machine's kernels, written to --out for --merge "
                             "('auto': from /proc/cpuinfo; name it explicitly under emulation)")
    parser.add_argument("--how", default="native", help="with --kernel-family: how the CPU was had")
    parser.add_argument("--shipped-only", action="store_true", help="with --kernel-family: fp32 + shipped variants")
    parser.add_argument("--out", type=Path, help="with --kernel-family: result file")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="FILE",
                        help="record --kernel-family result files in models/built/manifest.json, no measuring")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.merge:
        manifest = json.loads((BUILT / "manifest.json").read_text())
        for f in args.merge:
            log.info("merged kernel family %s", merge_kernel_file(manifest, f))
        apply_kernel_figures(manifest)
        (BUILT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        write_gitignore(manifest)
        print_kernel_table(manifest)
        return 0
    split = load_split("holdout", args.work_dir)
    if args.kernel_family:
        return kernel_family_run(args, split)
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
    old = json.loads((BUILT / "manifest.json").read_text()) if (BUILT / "manifest.json").is_file() else {}
    family = kernel_family()
    for m, res in results.items():
        old_variants = old.get("models", {}).get(m, {}).get("variants", {})
        for v, r in res.items():
            # Figures from other kernel families stay valid while the file is the same.
            prev = old_variants.get(v, {})
            by = dict(prev.get("by_kernel", {})) if prev.get("sha256") == r["sha256"] else {}
            by[family] = kernel_record(m, r)
            r["by_kernel"] = by
            # fp32 files are rebuilt from the fetched originals, except the lite model's: its original is
            # an optional asset (npm, absent on a stock Pi), so its exact fp32_noseg file ships.
            r["shipped"] = bool(r["pass"] and (not v.startswith("fp32")
                                               or (m == "landmark_lite" and v == "fp32_noseg")))
            if v == "fp32":
                r["use_instead"] = f"models/blazepose/{MODELS[m]}.tflite"
        manifest["models"][m] = {"name": MODELS[m], "default": "fp32", "variants": res}
    # Models not gated in this run (``--models landmark_lite`` alone re-gates one) keep their entries.
    for m, entry in old.get("models", {}).items():
        manifest["models"].setdefault(m, entry)
    manifest["kernel_families"] = {**old.get("kernel_families", {}),
                                   family: {"family": family, "machine": platform.machine(), "how": "native",
                                            "ai-edge-litert": _pkg_version("ai-edge-litert"),
                                            "date": datetime.now(UTC).strftime("%Y-%m-%d")}}
    apply_kernel_figures(manifest)
    write_gitignore(manifest)
    out = BUILT / "manifest.json"
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("wrote %s", out)
    print_kernel_table(manifest)
    return 0


def print_kernel_table(manifest: dict[str, Any]) -> None:
    fams = sorted(manifest.get("kernel_families", {}))
    print("\nper kernel family (detector: kp mean px at 224; landmark: mean px at 256)")
    print(f"{'model':9} {'variant':16} " + " ".join(f"{f:>18}" for f in fams) + "  worst   gate")
    for m, entry in manifest["models"].items():
        key = figure_key(m)
        for v, r in entry["variants"].items():
            by = r.get("by_kernel", {})
            if not by:
                continue
            cells = " ".join(f"{by[f][key]:18.2f}" if f in by else f"{'–':>18}" for f in fams)
            flag = " (default)" if entry["default"] == v else ""
            print(f"{m:9} {v:16} {cells}  {r['worst_kernel'][key]:5.2f}  {_verdict(r)}{flag}")


if __name__ == "__main__":
    raise SystemExit(main())
