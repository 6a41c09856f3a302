"""Quantize the fp32 BlazePose models with ai-edge-quantizer (runs in /work/.venv-quant only).

The quantizer (and whatever it pulls in) is a build tool: it never becomes a runtime dependency of
the appliance, which only loads the .tflite files this writes. Variants per model:

- ``wi8``      weight-only int8 (int8 weights dequantized at load, float compute)
- ``dyn8``     dynamic-range int8 (int8 weights, activations quantized on the fly)
- ``int8``     full static int8 incl. int8 input/output tensors, calibrated on running frames
- ``int8f``    full static int8 but float input/output and float output heads
- ``mixed``    ``int8f`` plus the layers listed in ``mixed_layers.json`` kept float (chosen by
               measured per-layer sensitivity, see ``sensitivity.py``), if that file exists
- ``mixedhead``  ``int8f`` with the stem and the regression-only branch float (landmark model)
- ``mixedlite``  ``mixedhead`` plus ops added greedily by px gained per float MAC (landmark model;
               not built by default: on the hold-out clips it was no better than ``mixedhead``, the
               greedy choice fits the 40 calibration crops it was made on; build it explicitly with
               ``--variants mixedlite_noseg`` after ``sensitivity.py --greedy-steps N``)
- ``*_noseg``  the same recipe applied to ``pose_landmark_full_fp32_noseg.tflite`` (landmark model
               without the unused segmentation branch, see fold_fp16.py)

Calibration inputs are real running-frame crops from ``crops.py`` (the ``calib`` split); the
calibration statistics are cached in ``build/model-build/`` so re-exporting is cheap.

    /work/.venv-quant/bin/python -m models.build.quantize [--variants int8f,mixed] [--models landmark]
"""

from __future__ import annotations

import argparse
import json
import logging
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("models.build.quantize")

REPO = Path(__file__).resolve().parents[2]
BUILT = REPO / "models" / "built"
WORK = REPO / "build" / "model-build"
MIXED_LAYERS = Path(__file__).resolve().parent / "mixed_layers.json"

MODELS = {
    "detector": "pose_detection",
    "landmark": "pose_landmark_full",
    "landmark_lite": "pose_landmark_lite",  # the lite profile (issue 19): same inputs/outputs, same recipes
}
# Output heads kept float in the ``int8f``/``mixed`` variants: the regressors' coordinates are the
# product; int8 steps there are 1.35 px (landmarks) / 5.5 px (boxes) on their own.
HEADS = {
    "detector": r".*(classifier_person|regressor_person|Identity).*",
    "landmark": r".*(convld_3d|convworld_3d|conv_poseflag|activation_poseflag|Identity).*",
    "landmark_lite": r".*(convld_3d|convworld_3d|conv_poseflag|activation_poseflag|Identity).*",
}

Recipe = list[dict[str, Any]]

_ACT8 = {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT"}
_W8 = {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"}


def _static(regex: str = ".*", op: str = "*") -> dict[str, Any]:
    return {
        "regex": regex, "operation": op, "algorithm_key": "min_max_uniform_quantize",
        "op_config": {"activation_tensor_config": _ACT8, "weight_tensor_config": _W8,
                      "compute_precision": "INTEGER", "explicit_dequantize": False,
                      "skip_checks": False, "min_weight_elements": 0},
    }


def _weights_only(regex: str = ".*", op: str = "*", explicit: bool = True) -> dict[str, Any]:
    # explicit_dequantize=True → weight-only (float compute); False → dynamic range (int compute).
    return {
        "regex": regex, "operation": op, "algorithm_key": "min_max_uniform_quantize",
        "op_config": {"weight_tensor_config": _W8,
                      "compute_precision": "FLOAT" if explicit else "INTEGER",
                      "explicit_dequantize": explicit, "skip_checks": False, "min_weight_elements": 0},
    }


def _float(regex: str, op: str = "*") -> dict[str, Any]:
    return {"regex": regex, "operation": op, "algorithm_key": "no_quantize"}


def _float_io(model: str) -> Recipe:
    return [_float(".*", "INPUT"), _float(".*", "OUTPUT"), _float(HEADS[model])]


def mixed_layers(model: str, recipe: str = "mixed") -> list[str]:
    if not MIXED_LAYERS.is_file():
        return []
    return list(json.loads(MIXED_LAYERS.read_text()).get(model, {}).get(recipe, {}).get("keep_float", []))


def _mixed(model: str, recipe: str) -> Recipe:
    keep = mixed_layers(model, recipe)
    return [_static(), *_float_io(model), *([_float(_exact(keep))] if keep else [])]


def _exact(names: list[str]) -> str:
    import re

    # The quantizer matches regexes (re.search) against the op's "scope": its output tensor names
    # joined by ";" plus a trailing ";".
    return "^(" + "|".join(re.escape(n) for n in names) + ");$"


RECIPES: dict[str, Callable[[str], Recipe]] = {
    "wi8": lambda m: [_weights_only()],
    "dyn8": lambda m: [_weights_only(explicit=False)],
    "int8": lambda m: [_static()],
    "int8f": lambda m: [_static(), *_float_io(m)],
    "mixed": lambda m: _mixed(m, "mixed"),
    "mixedhead": lambda m: _mixed(m, "mixedhead"),
    "mixedlite": lambda m: _mixed(m, "mixedlite"),
}
NEEDS_CALIBRATION = {"int8", "int8f", "mixed", "mixedhead", "mixedlite"}


def calibration_samples(model: str, limit: int | None = None) -> list[dict[str, np.ndarray]]:
    """Signature inputs for ``calibrate()`` from the calib split made by crops.py."""
    path = WORK / "calib.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run `.venv/bin/python -m models.build.crops` first")
    with np.load(path) as z:
        if model == "detector":
            xs = [(x.astype(np.float32) / 127.5 - 1.0)[None] for x in z["det_inputs"]]
        else:
            xs = [(x.astype(np.float32) / 255.0)[None] for x in z["crops"]]
    # The quantizer's min/max statistics are a moving average (factor 0.95) over the samples in
    # order, so an unshuffled list would mostly reflect the last clip: mix them, reproducibly.
    order = np.random.default_rng(0).permutation(len(xs))
    return [{"input_1": xs[i]} for i in order[:limit]]


DEFAULT_VARIANTS = {
    "detector": ["wi8", "dyn8", "int8", "int8f", "mixed"],
    "landmark": ["wi8", "dyn8", "int8", "int8f", "int8_noseg", "int8f_noseg", "mixed_noseg", "mixedhead_noseg"],
    "landmark_lite": ["wi8", "int8_noseg", "int8f_noseg", "mixed_noseg", "mixedhead_noseg"],
}


def split_variant(variant: str) -> tuple[str, str]:
    """``int8f_noseg`` → (recipe ``int8f``, base ``fp32_noseg``)."""
    if variant.endswith("_noseg"):
        return variant.removesuffix("_noseg"), "fp32_noseg"
    return variant, "fp32"


def calibrate(model: str, fp32: Path, refresh: bool = False) -> dict[str, Any]:
    """Activation min/max over the calibration crops (cached; one pass covers every static recipe)."""
    from ai_edge_quantizer import quantizer

    cache = WORK / f"calibration_{fp32.stem}_v2.pkl"  # bump when the sample set/order changes
    if cache.is_file() and not refresh and cache.stat().st_mtime > fp32.stat().st_mtime:
        return pickle.loads(cache.read_bytes())
    q = quantizer.Quantizer(str(fp32))
    q.load_quantization_recipe(RECIPES["int8"](model))
    samples = calibration_samples(model)
    log.info("%s: calibrating on %d real-frame samples", model, len(samples))
    result = q.calibrate({"serving_default": samples}, num_threads=2)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(result))
    return result


def quantize_recipe(fp32: Path, recipe: Recipe, calib: dict[str, Any] | None) -> bytes:
    from ai_edge_quantizer import quantizer

    q = quantizer.Quantizer(str(fp32))
    q.load_quantization_recipe(recipe)
    return bytes(q.quantize(calib if q.need_calibration else None, enable_progress_report=False).quantized_model)


def quantize_variant(model: str, variant: str, fp32: Path, calib: dict[str, Any] | None, out: Path) -> Path:
    recipe_name, _ = split_variant(variant)
    data = quantize_recipe(fp32, RECIPES[recipe_name](model), calib)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    log.info("%s %s → %s (%.2f MB)", model, variant, out, out.stat().st_size / 1e6)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="detector,landmark")
    parser.add_argument("--variants", default="", help="comma list (default: every variant of the model)")
    parser.add_argument("--out-dir", type=Path, default=BUILT)
    parser.add_argument("--recalibrate", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for model in args.models.split(","):
        wanted = args.variants.split(",") if args.variants else DEFAULT_VARIANTS[model]
        unknown = [v for v in wanted if split_variant(v)[0] not in RECIPES]
        if unknown:
            raise SystemExit(f"unknown variant(s) {unknown}; recipes {sorted(RECIPES)}, + _noseg for the landmark")
        # Only the landmark model has a segmentation branch to drop.
        variants = [v for v in wanted if model.startswith("landmark") or not v.endswith("_noseg")]
        variants = [v for v in variants if not split_variant(v)[0].startswith("mixed")
                    or mixed_layers(model, split_variant(v)[0])]
        for variant in variants:
            recipe_name, base = split_variant(variant)
            fp32 = args.out_dir / f"{MODELS[model]}_{base}.tflite"
            if not fp32.is_file():
                raise FileNotFoundError(f"{fp32} missing: run `.venv/bin/python -m models.build.fold_fp16` first")
            calib = calibrate(model, fp32, args.recalibrate) if recipe_name in NEEDS_CALIBRATION else None
            quantize_variant(model, variant, fp32, calib, args.out_dir / f"{MODELS[model]}_{variant}.tflite")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
