"""Time MobileNet v2 1.0 224 through ai-edge-litert here, to turn XNNPACK's Pi table into a measured factor.

Why: docs/performance.md projects Pi 4 / Pi 5 speeds from this machine's timings. XNNPACK publishes
MobileNet v2 1.0 224 on a Raspberry Pi 4 (64-bit OS): 46 ms fp32, 17 ms int8. Timing the same
network with the same runtime here gives "Pi 4 ms ÷ this machine's ms" measured rather than
assumed from peak SIMD throughput.

No registry package we found ships a MobileNet v2 .tflite (grep of the PyPI package list for
mobilenet / tflite: no package is described as carrying mobilenet_v2_1.0_224.tflite; none was
downloaded to check, as bulk look-ups are not allowed here), so this script writes the
network itself with the flatbuffer object API in ai-edge-litert: the standard architecture (Sandler
et al. 2018, the TF-slim/Keras graph the hosted .tflite was converted from: 3×3 stem, 17 inverted
residual blocks, 1×1 1280 conv, 7×7 average pool, 1×1 1001-class conv, softmax), same shapes,
ops, padding and fused ReLU6 as the hosted file, with **random weights**. fp32 time does not depend
on weight values (XNNPACK does the same arithmetic on any numbers), so the fp32 figure is
comparable. The int8 file (``--int8``) is quantized with ai-edge-quantizer (static int8, int8
input/output like the hosted quantized model) calibrated on random inputs; its time is comparable
too (int8 kernels do not skip work on any value), though the hosted int8 model was made by a
different converter and may differ in requantization details.

    .venv/bin/python scripts/mobilenet_v2_calibration.py build OUT_DIR        # writes mobilenet_v2_fp32.tflite
    /work/.venv-quant/bin/python scripts/mobilenet_v2_calibration.py int8 OUT_DIR
    nice .venv/bin/python scripts/mobilenet_v2_calibration.py time OUT_DIR --rounds 40
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("mobilenet_v2_calibration")

# (expansion t, output channels c, repeats n, first stride s): Sandler et al., Table 2.
BLOCKS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
PUBLISHED_PI4_MS = {"fp32": 46.0, "int8": 17.0}  # XNNPACK README, Raspberry Pi 4, 64-bit OS, 1 thread


def build_fp32(out: Path, seed: int = 0) -> Path:
    """Write MobileNet v2 1.0 224 (random weights) as an fp32 .tflite with a serving_default signature."""
    from ai_edge_litert import schema_py_generated as s
    from ai_edge_litert.tools import flatbuffer_utils

    rng = np.random.default_rng(seed)
    model = s.ModelT()
    model.version = 3
    model.buffers = [s.BufferT()]  # buffer 0: empty, by convention
    sg = s.SubGraphT()
    sg.tensors, sg.operators = [], []
    codes: dict[int, int] = {}

    def opcode(builtin: int) -> int:
        if builtin not in codes:
            c = s.OperatorCodeT()
            c.builtinCode = builtin
            c.deprecatedBuiltinCode = min(builtin, 127)
            c.version = 1
            codes[builtin] = len(codes)
        return codes[builtin]

    def tensor(name: str, shape: list[int], data: np.ndarray | None = None) -> int:
        t = s.TensorT()
        t.name, t.shape, t.type = name.encode(), shape, s.TensorType.FLOAT32
        if data is None:
            t.buffer = 0
        else:
            b = s.BufferT()
            b.data = np.ascontiguousarray(data, dtype=np.float32).tobytes()
            model.buffers.append(b)
            t.buffer = len(model.buffers) - 1
        sg.tensors.append(t)
        return len(sg.tensors) - 1

    def op(builtin: int, inputs: list[int], outputs: list[int], opt_type: int = 0, opts: object = None) -> None:
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = opcode(builtin), inputs, outputs
        if opts is not None:
            o.builtinOptionsType, o.builtinOptions = opt_type, opts
        sg.operators.append(o)

    def conv(x: int, hw: int, cin: int, cout: int, k: int, stride: int, relu6: bool, name: str) -> tuple[int, int]:
        w = tensor(f"{name}/w", [cout, k, k, cin], rng.normal(0, (2.0 / (k * k * cin)) ** 0.5, (cout, k, k, cin)))
        b = tensor(f"{name}/b", [cout], np.zeros(cout))
        out_hw = -(-hw // stride)
        y = tensor(name, [1, out_hw, out_hw, cout])
        o = s.Conv2DOptionsT()
        o.padding, o.strideW, o.strideH = s.Padding.SAME, stride, stride
        o.dilationWFactor = o.dilationHFactor = 1
        o.fusedActivationFunction = s.ActivationFunctionType.RELU6 if relu6 else s.ActivationFunctionType.NONE
        op(s.BuiltinOperator.CONV_2D, [x, w, b], [y], s.BuiltinOptions.Conv2DOptions, o)
        return y, out_hw

    def dwconv(x: int, hw: int, ch: int, stride: int, name: str) -> tuple[int, int]:
        w = tensor(f"{name}/w", [1, 3, 3, ch], rng.normal(0, (2.0 / 9) ** 0.5, (1, 3, 3, ch)))
        b = tensor(f"{name}/b", [ch], np.zeros(ch))
        out_hw = -(-hw // stride)
        y = tensor(name, [1, out_hw, out_hw, ch])
        o = s.DepthwiseConv2DOptionsT()
        o.padding, o.strideW, o.strideH, o.depthMultiplier = s.Padding.SAME, stride, stride, 1
        o.dilationWFactor = o.dilationHFactor = 1
        o.fusedActivationFunction = s.ActivationFunctionType.RELU6
        op(s.BuiltinOperator.DEPTHWISE_CONV_2D, [x, w, b], [y], s.BuiltinOptions.DepthwiseConv2DOptions, o)
        return y, out_hw

    x = tensor("input", [1, 224, 224, 3])
    sg.inputs = [x]
    y, hw = conv(x, 224, 3, 32, 3, 2, True, "stem")
    cin = 32
    n_block = 0
    for t, c, n, s0 in BLOCKS:
        for i in range(n):
            stride = s0 if i == 0 else 1
            name = f"block{n_block}"
            h = y
            if t != 1:
                h, _ = conv(h, hw, cin, cin * t, 1, 1, True, f"{name}/expand")
            h, new_hw = dwconv(h, hw, cin * t, stride, f"{name}/dw")
            h, _ = conv(h, new_hw, cin * t, c, 1, 1, False, f"{name}/project")
            if stride == 1 and cin == c:
                z = tensor(f"{name}/add", [1, new_hw, new_hw, c])
                o = s.AddOptionsT()
                op(s.BuiltinOperator.ADD, [y, h], [z], s.BuiltinOptions.AddOptions, o)
                h = z
            y, hw, cin = h, new_hw, c
            n_block += 1
    y, hw = conv(y, hw, cin, 1280, 1, 1, True, "head")
    pooled = tensor("avgpool", [1, 1, 1, 1280])
    p = s.Pool2DOptionsT()
    p.padding, p.strideW, p.strideH, p.filterWidth, p.filterHeight = s.Padding.VALID, 2, 2, hw, hw
    op(s.BuiltinOperator.AVERAGE_POOL_2D, [y], [pooled], s.BuiltinOptions.Pool2DOptions, p)
    logits4, _ = conv(pooled, 1, 1280, 1001, 1, 1, False, "logits")
    shape = tensor("shape", [2], None)
    model.buffers.append(s.BufferT())
    model.buffers[-1].data = np.asarray([1, 1001], dtype=np.int32).tobytes()
    sg.tensors[shape].type, sg.tensors[shape].buffer = s.TensorType.INT32, len(model.buffers) - 1
    logits = tensor("logits2d", [1, 1001])
    r = s.ReshapeOptionsT()
    r.newShape = [1, 1001]
    op(s.BuiltinOperator.RESHAPE, [logits4, shape], [logits], s.BuiltinOptions.ReshapeOptions, r)
    probs = tensor("output", [1, 1001])
    sm = s.SoftmaxOptionsT()
    sm.beta = 1.0
    op(s.BuiltinOperator.SOFTMAX, [logits], [probs], s.BuiltinOptions.SoftmaxOptions, sm)
    sg.outputs = [probs]
    sg.name = b"main"
    model.subgraphs = [sg]
    model.operatorCodes = [None] * len(codes)
    for builtin, idx in codes.items():
        c = s.OperatorCodeT()
        c.builtinCode, c.deprecatedBuiltinCode, c.version = builtin, min(builtin, 127), 1
        model.operatorCodes[idx] = c
    model.description = b"MobileNet v2 1.0 224, random weights (LeanCam Pi calibration)"
    sig = s.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = b"serving_default", 0
    ti, to = s.TensorMapT(), s.TensorMapT()
    ti.name, ti.tensorIndex = b"input", x
    to.name, to.tensorIndex = b"output", probs
    sig.inputs, sig.outputs = [ti], [to]
    model.signatureDefs = [sig]
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mobilenet_v2_fp32.tflite"
    flatbuffer_utils.write_model(model, str(path))
    log.info("wrote %s (%.1f MB, %d ops)", path, path.stat().st_size / 1e6, len(sg.operators))
    return path


def build_int8(out: Path) -> Path:
    """Static int8 (int8 input/output, like the hosted quantized model), calibrated on random inputs."""
    from ai_edge_quantizer import quantizer

    act = {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "INT"}
    wgt = {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"}
    recipe = [{"regex": ".*", "operation": "*", "algorithm_key": "min_max_uniform_quantize",
               "op_config": {"activation_tensor_config": act, "weight_tensor_config": wgt,
                             "compute_precision": "INTEGER", "explicit_dequantize": False,
                             "skip_checks": False, "min_weight_elements": 0}}]
    q = quantizer.Quantizer(str(out / "mobilenet_v2_fp32.tflite"))
    q.load_quantization_recipe(recipe)
    rng = np.random.default_rng(1)
    samples = [{"input": rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)} for _ in range(8)]
    calib = q.calibrate({"serving_default": samples})
    path = out / "mobilenet_v2_int8.tflite"
    path.write_bytes(bytes(q.quantize(calib).quantized_model))
    log.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def time_models(paths: dict[str, Path], threads: int, rounds: int) -> dict[str, float]:
    """Median invoke ms per model, interleaved round by round (fair under a shared machine's noise)."""
    from ai_edge_litert.interpreter import Interpreter

    its = {}
    for name, p in paths.items():
        it = Interpreter(model_path=str(p), num_threads=threads)
        it.allocate_tensors()
        d = it.get_input_details()[0]
        it.set_tensor(d["index"], np.zeros(d["shape"], dtype=d["dtype"]))
        for _ in range(5):
            it.invoke()
        its[name] = it
    times: dict[str, list[float]] = {k: [] for k in its}
    for _ in range(rounds):
        for name, it in its.items():
            it.invoke()
            t0 = time.perf_counter()
            it.invoke()
            times[name].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["build", "int8", "time"])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1, help="XNNPACK's Pi table is single-threaded")
    parser.add_argument("--with", dest="extra", action="append", default=[], metavar="NAME=FILE",
                        help="also time this model in the same rounds (e.g. a pose landmark model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.step == "build":
        build_fp32(args.out_dir)
    elif args.step == "int8":
        build_int8(args.out_dir)
    else:
        paths = {k: args.out_dir / f"mobilenet_v2_{k}.tflite" for k in ("fp32", "int8")
                 if (args.out_dir / f"mobilenet_v2_{k}.tflite").is_file()}
        paths.update({k: Path(v) for k, v in (e.split("=", 1) for e in args.extra)})
        med = time_models(paths, args.threads, args.rounds)
        for name, ms in med.items():
            pub = PUBLISHED_PI4_MS.get(name)
            extra = f"  → Pi 4 published {pub:.0f} ms = {pub / ms:.2f}× this machine" if pub else ""
            print(f"{name:24s} {ms:8.2f} ms (median of {args.rounds}, {args.threads} thread(s)){extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
