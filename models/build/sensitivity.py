"""Per-layer quantization sensitivity and the ``mixed`` layer choice (landmark model or detector).

Runs in /work/.venv-quant (needs ai-edge-quantizer). On the *calibration* split only (the gate's
hold-out clips stay unseen):

1. for every op of the float model (``pose_landmark_full_fp32_noseg`` / ``pose_detection_fp32``),
   build a model in which only that op is static int8 (weights and activations; everything else
   float) and measure the deviation from fp32 it causes on its own: mean landmark deviation in px
   at 256, or for the detector the mean deviation of the raw box/keypoint regressions (px at 224)
   on anchors the fp32 model scores ≥ 0.5;
2. rank the ops by that deviation (``--rank px``, the default) or by deviation per unit of float
   compute they would keep (``--rank cost``: MACs plus output size). On the landmark model ``px``
   wins: most of the sensitive ops are 2×2 and 4×4 maps with 288 channels that cost almost nothing
   in float anyway, and the cost ranking promotes float ADDs whose int8 inputs still carry the error
   (K=24: 2.07 px with ``px`` vs 5.80 px with ``cost``);
3. for K = 0, 8, 16, ... build ``int8f`` with the first K ops of that ranking kept float (for the
   landmark model on top of the "stem + regression-only branch" set, see below) and measure the
   deviation, the share of the MACs left float and, for information, the invoke latency ratio vs
   the original fp32 model (interleaved rounds; too noisy on a shared machine to choose by);
4. keep the smallest K whose deviation is under ``--target`` with at most ``--max-float`` of the
   MACs float, and write it to ``mixed_layers.json`` for ``quantize.py``'s ``mixed`` recipe;
5. landmark model only: also write the structural ``mixedhead`` set (the first conv + depthwise and
   every op that feeds only the regression heads: 2×2…8×8 maps, 11 % of the MACs), the cheapest
   point on the accuracy/latency curve.

    nice -n 10 /work/.venv-quant/bin/python -m models.build.sensitivity --model landmark
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.tools import flatbuffer_utils

from models.build import quantize as qz

log = logging.getLogger("models.build.sensitivity")

SKIP_OPS = {"RESHAPE", "LOGISTIC"}  # no arithmetic worth quantizing on its own / part of the heads


def _interp(content: bytes | Path) -> Interpreter:
    if isinstance(content, Path):
        it = Interpreter(model_path=str(content), num_threads=2)
    else:
        it = Interpreter(model_content=content, num_threads=2)
    it.allocate_tensors()
    return it


def outputs(it: Interpreter, xs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Stacked float outputs ``Identity`` (coordinates) and ``Identity_1`` (scores/presence)."""
    inp = it.get_input_details()[0]["index"]
    outs = {d["name"]: d["index"] for d in it.get_output_details() if d["name"] in ("Identity", "Identity_1")}
    res: dict[str, list[np.ndarray]] = {k: [] for k in outs}
    for x in xs:
        it.set_tensor(inp, x)
        it.invoke()
        for k, idx in outs.items():
            res[k].append(it.get_tensor(idx).copy())
    return {k: np.asarray(v) for k, v in res.items()}


def deviation(model: str, ref: dict[str, np.ndarray], got: dict[str, np.ndarray]) -> float:
    if model.startswith("landmark"):
        a = ref["Identity"].reshape(-1, 39, 5)[:, :33, :2]
        b = got["Identity"].reshape(-1, 39, 5)[:, :33, :2]
        return float(np.linalg.norm(b - a, axis=-1).mean())
    # Detector: regressions are in px at 224 relative to the anchor; compare where fp32 fires.
    fired = ref["Identity_1"].reshape(len(ref["Identity_1"]), -1) >= 0.0  # logit 0 = score 0.5
    a = ref["Identity"].reshape(*fired.shape, 6, 2)[fired]
    b = got["Identity"].reshape(*fired.shape, 6, 2)[fired]
    return float(np.linalg.norm(b - a, axis=-1).mean())


def latency_ratios(models: dict[str, Interpreter], ref_key: str, x: np.ndarray, rounds: int = 30) -> dict[str, float]:
    for it in models.values():
        it.set_tensor(it.get_input_details()[0]["index"], x)
        for _ in range(3):
            it.invoke()
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):
        for k, it in models.items():
            t0 = time.perf_counter()
            it.invoke()
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {k: med[k] / med[ref_key] for k in med}


def op_table(path: Path) -> list[tuple[str, str, float]]:
    """(kind, scope name, float cost) per op; cost = MACs + output elements."""
    model = flatbuffer_utils.read_model(str(path))
    sg = model.subgraphs[0]
    out = []
    for op in sg.operators:
        kind = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
        t = sg.tensors[op.outputs[0]]
        n_out = float(np.prod(t.shape))
        macs = n_out
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = list(sg.tensors[op.inputs[1]].shape)
            macs = n_out * w[1] * w[2] * (w[3] if kind == "CONV_2D" else 1)
        name = t.name.decode() if isinstance(t.name, bytes) else t.name
        out.append((kind, name, macs + n_out))
    return out


def stem_and_regression_branch(path: Path, heads: re.Pattern[str]) -> list[str]:
    """Scope names of the first two arithmetic ops and of the ops that do not feed ``Identity_3``."""
    model = flatbuffer_utils.read_model(str(path))
    sg = model.subgraphs[0]

    def name(i: int) -> str:
        n = sg.tensors[i].name
        return n.decode() if isinstance(n, bytes) else n

    heatmap = next(i for i in sg.outputs if name(i) == "Identity_3")
    needed = {heatmap}
    feeds_heatmap: set[int] = set()
    for k in range(len(sg.operators) - 1, -1, -1):
        op = sg.operators[k]
        if any(o in needed for o in op.outputs):
            feeds_heatmap.add(k)
            needed.update(i for i in op.inputs if i >= 0)
    keep: list[str] = []
    arithmetic = 0
    for k, op in enumerate(sg.operators):
        kind = flatbuffer_utils.opcode_to_name(model, op.opcodeIndex)
        scope = name(op.outputs[0])
        if kind in SKIP_OPS or heads.fullmatch(scope):
            continue
        stem = kind in ("CONV_2D", "DEPTHWISE_CONV_2D") and arithmetic < 2
        arithmetic += kind in ("CONV_2D", "DEPTHWISE_CONV_2D")
        if stem or k not in feeds_heatmap:
            keep.append(scope)
    return keep


def greedy(model: str, base: Path, calib: dict[str, Any], xs: list[np.ndarray], ref: dict[str, np.ndarray],
           start: list[str], ranked: list[dict[str, Any]], costs: dict[str, float], args: argparse.Namespace,
           pool_size: int = 16, island_cost: float = 0.5e6) -> dict[str, Any]:
    """Forward selection from ``start``: each step adds the op with the best px gained per float cost.

    The candidates are the ``pool_size`` most sensitive ops not yet float; ``island_cost`` (MACs) is
    added to every op's cost for the quantize/dequantize a new float island needs, so near-free ops
    with no real gain are not chosen on a division by almost zero.
    """
    keep = list(start)

    def dev_of(names: list[str]) -> float:
        recipe = [qz._static(), *qz._float_io(model), qz._float(qz._exact(names))]
        return deviation(model, ref, outputs(_interp(qz.quantize_recipe(base, recipe, calib)), xs))

    current = dev_of(keep)
    total = sum(costs.values())
    trail = [f"start {current:.2f} px"]
    for step in range(args.greedy_steps):
        if current <= args.greedy_target:
            break
        pool = [s["name"] for s in ranked if s["name"] not in keep][:pool_size]
        trials = {n: dev_of([*keep, n]) for n in pool}
        best = max(pool, key=lambda n: (current - trials[n]) / (costs[n] + island_cost))
        if trials[best] >= current:
            break
        keep.append(best)
        current = trials[best]
        share = sum(costs.get(n, 0.0) for n in keep) / total
        trail.append(f"+{best.split(';')[0].split('/')[-1]} → {current:.2f} px, {share:.1%} MACs")
        log.info("greedy step %d: %s", step + 1, trail[-1])
    share = sum(costs.get(n, 0.0) for n in keep) / total
    return {"keep_float": keep, "how": (
        f"greedy forward selection from the mixedhead set, best px gained per float MAC among the {pool_size} most "
        f"sensitive remaining ops, on {len(xs)} calibration inputs: " + "; ".join(trail)
        + f" (final {current:.2f} px, {share:.0%} of the MACs float)")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["landmark", "landmark_lite", "detector"], default="landmark")
    parser.add_argument("--crops", type=int, default=40, help="calibration inputs used for scoring")
    parser.add_argument("--target", type=float, default=1.2, help="deviation (px) on the calibration inputs")
    parser.add_argument("--max-float", type=float, default=0.4, help="largest share of the MACs kept float")
    parser.add_argument("--ks", default="0,8,16,24,32,40,48")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--greedy-steps", type=int, default=0,
                        help="landmark: also search the cheaper 'mixedlite' set greedily (0 = off)")
    parser.add_argument("--greedy-target", type=float, default=1.6, help="px at which the greedy search stops")
    parser.add_argument("--reuse-scores", action="store_true", help="reuse build/model-build/sensitivity_*.json")
    parser.add_argument("--rank", choices=["px", "cost"], default="px",
                        help="order ops by deviation alone (px) or by deviation per float cost (cost)")
    parser.add_argument("--mixedhead-only", action="store_true",
                        help="landmark models: write only the structural 'mixedhead' set (no per-op scoring; "
                             "minutes instead of the better part of an hour on a loaded 2-core machine)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    model = args.model
    built = qz.BUILT
    base_variant = "fp32_noseg" if model.startswith("landmark") else "fp32"
    base = built / f"{qz.MODELS[model]}_{base_variant}.tflite"
    full = built / f"{qz.MODELS[model]}_fp32.tflite"
    calib = qz.calibrate(model, base)
    samples = qz.calibration_samples(model)
    idx = np.linspace(0, len(samples) - 1, min(args.crops, len(samples))).astype(int)
    xs = [samples[i]["input_1"] for i in idx]
    ref = outputs(_interp(base), xs)
    heads = re.compile(qz.HEADS[model])
    if args.mixedhead_only:
        if not model.startswith("landmark"):
            raise SystemExit("--mixedhead-only: the structural set exists for the landmark models only")
        keep = stem_and_regression_branch(base, heads)
        recipe = [qz._static(), *qz._float_io(model), qz._float(qz._exact(keep))]
        dev = deviation(model, ref, outputs(_interp(qz.quantize_recipe(base, recipe, calib)), xs))
        costs = {n: c for _, n, c in op_table(base)}
        share = sum(costs.get(n, 0.0) for n in keep) / sum(costs.values())
        log.info("mixedhead: %d ops float (%.0f %% of the cost), %.2f px on %d calibration inputs",
                 len(keep), 100 * share, dev, len(xs))
        chosen = json.loads(qz.MIXED_LAYERS.read_text()) if qz.MIXED_LAYERS.is_file() else {}
        chosen.setdefault(model, {})["mixedhead"] = {"keep_float": keep, "how": (
            f"first conv + depthwise and every op that feeds only the regression heads ({len(keep)} ops, "
            f"{share:.0%} of the MACs); {dev:.2f} px on {len(xs)} calibration inputs (--mixedhead-only)")}
        qz.MIXED_LAYERS.write_text(json.dumps(chosen, indent=1) + "\n")
        return 0

    ops = [(k, n, c) for k, n, c in op_table(base) if k not in SKIP_OPS and not heads.fullmatch(n)]
    scores: list[dict[str, Any]] = []
    cached = qz.WORK / f"sensitivity_{model}.json"
    if args.reuse_scores and cached.is_file():
        scores = json.loads(cached.read_text())
        ops = []  # skip re-scoring: same model, same calibration, same crops
    t0 = time.time()
    for i, (kind, name, cost) in enumerate(ops):
        recipe = [qz._static(qz._exact([name])), *qz._float_io(model)]
        try:
            dev = deviation(model, ref, outputs(_interp(qz.quantize_recipe(base, recipe, calib)), xs))
        except Exception as exc:  # an op the quantizer cannot take alone: record and go on
            log.warning("op %d %s: %s", i, kind, exc)
            dev = float("nan")
        scores.append({"op": i, "kind": kind, "name": name, "alone_px": dev, "float_cost": cost})
        if i % 20 == 0:
            log.info("%d/%d ops scored (%.0f s)", i + 1, len(ops), time.time() - t0)
    valid = [s for s in scores if s["alone_px"] == s["alone_px"]]
    if args.rank == "cost":
        ranked = sorted(valid, key=lambda s: -s["alone_px"] / s["float_cost"])
    else:
        ranked = sorted(valid, key=lambda s: -s["alone_px"])
    qz.WORK.mkdir(parents=True, exist_ok=True)
    (qz.WORK / f"sensitivity_{model}.json").write_text(json.dumps(ranked, indent=1))
    for s in ranked[:15]:
        log.info("%5.2f px  %8.0f kMAC  %-18s %s", s["alone_px"], s["float_cost"] / 1e3, s["kind"], s["name"][:80])

    # Landmark model: the stem + regression-only branch is always float in ``mixed`` (11 % of the
    # MACs, and it keeps float islands contiguous); the sweep adds the K most sensitive ops to it.
    base_set = stem_and_regression_branch(base, heads) if model.startswith("landmark") else []
    costs = {s["name"]: s["float_cost"] for s in scores}
    total_cost = sum(costs.values())
    sweep: list[dict[str, Any]] = []
    models: dict[str, Interpreter] = {"fp32": _interp(full)}
    for k in (int(v) for v in args.ks.split(",")):
        keep = list(dict.fromkeys([*base_set, *(s["name"] for s in ranked[:k])]))
        recipe = [qz._static(), *qz._float_io(model), *([qz._float(qz._exact(keep))] if keep else [])]
        it = _interp(qz.quantize_recipe(base, recipe, calib))
        models[f"k{k}"] = it
        sweep.append({"k": k, "keep_float": keep, "dev_px": deviation(model, ref, outputs(it, xs)),
                      "float_macs": sum(costs.get(n, 0.0) for n in keep) / total_cost})
    ratios = latency_ratios(models, "fp32", xs[0], args.rounds)
    for row in sweep:
        row["latency_ratio"] = ratios[f"k{row['k']}"]
        log.info("K=%2d  %.2f px  %4.1f %% of MACs float  %.2f× fp32 (measured, noisy)",
                 row["k"], row["dev_px"], 100 * row["float_macs"], row["latency_ratio"])
    # Choose on deviation and the float share of the MACs, not on the measured latency: on a shared
    # machine the ratios move by ±0.05 from run to run, and the choice must be reproducible.
    ok = [r for r in sweep if r["dev_px"] <= args.target and r["float_macs"] <= args.max_float]
    choice = ok[0] if ok else min(sweep, key=lambda r: r["dev_px"])
    log.info("chosen K=%d (%s)", choice["k"], "meets both targets" if ok else "most accurate; targets not met")
    chosen = json.loads(qz.MIXED_LAYERS.read_text()) if qz.MIXED_LAYERS.is_file() else {}
    entry: dict[str, Any] = {"mixed": {
        "keep_float": choice["keep_float"],
        "how": ((f"stem + regression-only branch ({len(base_set)} ops) plus " if base_set else "")
                + f"the first {choice['k']} ops ranked by "
                + ("deviation when int8 alone" if args.rank == "px" else "(deviation when int8 alone) / (float cost)")
                + f", measured on {len(xs)} calibration inputs; sweep K → (px, float MAC share, measured latency "
                "ratio vs fp32): "
                + ", ".join(f"{r['k']}→({r['dev_px']:.2f}, {r['float_macs']:.0%}, {r['latency_ratio']:.2f})"
                            for r in sweep)),
    }}
    if model.startswith("landmark"):
        keep = base_set
        recipe = [qz._static(), *qz._float_io(model), qz._float(qz._exact(keep))]
        dev = deviation(model, ref, outputs(_interp(qz.quantize_recipe(base, recipe, calib)), xs))
        entry["mixedhead"] = {"keep_float": keep, "how": (
            f"first conv + depthwise and every op that feeds only the regression heads ({len(keep)} ops, "
            f"{sum(costs.get(n, 0.0) for n in keep) / total_cost:.0%} of the MACs); {dev:.2f} px on {len(xs)} "
            "calibration inputs")}
        if args.greedy_steps:
            entry["mixedlite"] = greedy(model, base, calib, xs, ref, base_set, ranked, costs, args)
    chosen[model] = entry
    qz.MIXED_LAYERS.write_text(json.dumps(chosen, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
