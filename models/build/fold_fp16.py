"""Rewrite MediaPipe's BlazePose .tflite files to pure fp32.

MediaPipe ships the weights as fp16 constants behind DEQUANTIZE ops (and, in the detector, some of
them as sparse fp16 constants behind DENSIFY ops). Quantizers treat those graphs as already
"quantized" and do nothing useful, so this script:

1. expands every sparse constant that feeds a DENSIFY op into a dense constant and drops the op;
2. folds every DEQUANTIZE of a constant FLOAT16 buffer into an fp32 buffer on the op's output
   tensor and drops the op;
3. removes tensors, buffers and operator codes nothing refers to any more;
4. adds a ``serving_default`` signature (ai-edge-quantizer's calibration is keyed by signature).

It also writes ``pose_landmark_full_fp32_noseg.tflite``: the landmark model without its segmentation
output (``Identity_2``) and the 20 ops that only feed it. The appliance never uses the mask, and that
branch runs 8-channel layers at 128² and 256² that cost ~1/3 of the fp32 invoke and over half of an
int8 one. Outputs of the ``_noseg`` files must be looked up by name (``Identity``, ``Identity_1``,
``Identity_3``, ``Identity_4``), not by position.

Only the flatbuffer object API shipped in ai-edge-litert is used, so this runs in the project venv.

    .venv/bin/python -m models.build.fold_fp16 [--out-dir models/built]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils

log = logging.getLogger("models.build.fold_fp16")

REPO = Path(__file__).resolve().parents[2]
ORIGINALS = {
    "pose_detection": REPO / "models" / "blazepose" / "pose_detection.tflite",
    "pose_landmark_full": REPO / "models" / "blazepose" / "pose_landmark_full.tflite",
    # The lite profile's landmark model (issue 19); optional: fetched from the @mediapipe/pose npm
    # package (see appliance/ops/assets.py), folded only when present.
    "pose_landmark_lite": REPO / "models" / "blazepose" / "pose_landmark_lite.tflite",
}
OPTIONAL = {"pose_landmark_lite"}
_OP = schema.BuiltinOperator
_TT = schema.TensorType
_NP_OF = {_TT.FLOAT16: np.float16, _TT.FLOAT32: np.float32}


def _builtin(model: schema.ModelT, op: schema.OperatorT) -> int:
    code = model.operatorCodes[op.opcodeIndex]
    # Old files store small codes in deprecatedBuiltinCode only; take the larger of the two.
    return max(code.builtinCode, code.deprecatedBuiltinCode)


def _const_array(model: schema.ModelT, tensor: schema.TensorT) -> np.ndarray | None:
    buf = model.buffers[tensor.buffer]
    if buf.data is None or len(buf.data) == 0:
        return None
    return np.frombuffer(bytes(buf.data), dtype=_NP_OF[tensor.type])


def _segment_values(vec: object) -> np.ndarray:
    # Int32VectorT / Uint16VectorT / Uint8VectorT all carry a ``values`` list.
    return np.asarray(vec.values, dtype=np.int64)  # type: ignore[attr-defined]


def densify(tensor: schema.TensorT, values: np.ndarray) -> np.ndarray:
    """Expand a TFLite sparse constant (dense/CSR dimension metadata, no block map) to dense.

    Walks the traversal order level by level, carrying for every stored element its position in
    the level and its coordinates; a DENSE level multiplies positions, a SPARSE_CSR level uses its
    segments/indices arrays. This is the format's definition, vectorised.
    """
    sp = tensor.sparsity
    if sp.blockMap is not None and len(sp.blockMap) > 0:
        raise NotImplementedError(f"block-sparse tensor {tensor.name!r} is not supported")
    order = list(sp.traversalOrder)
    shape = list(tensor.shape)
    pos = np.zeros(1, dtype=np.int64)
    coords = np.zeros((1, len(shape)), dtype=np.int64)
    for level, dim in enumerate(sp.dimMetadata):
        if dim.format == schema.DimensionType.DENSE:
            n = dim.denseSize
            pos = (pos[:, None] * n + np.arange(n)[None, :]).reshape(-1)
            coords = np.repeat(coords, n, axis=0)
            coords[:, order[level]] = np.tile(np.arange(n), len(coords) // n)
        else:
            segs = _segment_values(dim.arraySegments)
            idx = _segment_values(dim.arrayIndices)
            counts = segs[pos + 1] - segs[pos]
            new_pos = np.concatenate([np.arange(segs[p], segs[p + 1]) for p in pos]) if len(pos) else pos
            coords = np.repeat(coords, counts, axis=0)
            coords[:, order[level]] = idx[new_pos]
            pos = new_pos
    if len(pos) != len(values):
        raise ValueError(f"{tensor.name!r}: {len(pos)} stored positions but {len(values)} values")
    dense = np.zeros(shape, dtype=values.dtype)
    dense[tuple(coords.T)] = values[pos]
    return dense


def fold(model: schema.ModelT) -> dict[str, int]:
    """Fold DENSIFY and DEQUANTIZE-of-constant ops in place; return counts per kind."""
    counts = {"densify": 0, "dequantize": 0}
    for sg in model.subgraphs:
        kept: list[schema.OperatorT] = []
        for op in sg.operators:
            kind = _builtin(model, op)
            if kind not in (_OP.DENSIFY, _OP.DEQUANTIZE):
                kept.append(op)
                continue
            src, dst = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
            data = _const_array(model, src) if src.type in _NP_OF else None
            if data is None or (kind == _OP.DEQUANTIZE and src.type != _TT.FLOAT16):
                kept.append(op)  # a runtime DENSIFY/DEQUANTIZE of an activation: leave it alone
                continue
            if kind == _OP.DENSIFY:
                dense = densify(src, data)
                out_dtype = _NP_OF[dst.type]
                counts["densify"] += 1
            else:
                dense = data.reshape(src.shape)
                out_dtype = np.float32
                counts["dequantize"] += 1
            # Each folded output gets a fresh buffer (buffers may be shared; never mutate in place).
            model.buffers.append(schema.BufferT())
            model.buffers[-1].data = np.ascontiguousarray(dense.astype(out_dtype)).reshape(-1).view(np.uint8)
            dst.buffer = len(model.buffers) - 1
            dst.sparsity = None
        sg.operators = kept
    return counts


def _constant_folded_first(model: schema.ModelT) -> None:
    # DENSIFY feeds DEQUANTIZE: run fold() until nothing changes so the chain collapses.
    while True:
        counts = fold(model)
        log.debug("fold pass: %s", counts)
        if not any(counts.values()):
            return


def prune(model: schema.ModelT) -> dict[str, int]:
    """Drop tensors, buffers and operator codes that nothing refers to; remap all indices."""
    removed = {"tensors": 0, "buffers": 0, "opcodes": 0}
    used_buffers = {0}  # buffer 0 is the schema's mandatory empty sentinel
    for md in model.metadata or []:
        used_buffers.add(md.buffer)
    for sg in model.subgraphs:
        used = set(sg.inputs) | set(sg.outputs)
        for op in sg.operators:
            used.update(i for i in op.inputs if i >= 0)
            used.update(i for i in op.outputs if i >= 0)
            used.update(i for i in (op.intermediates if op.intermediates is not None else []) if i >= 0)
        for sig in model.signatureDefs or []:
            used.update(t.tensorIndex for t in (sig.inputs or []) + (sig.outputs or []))
        old_to_new = {old: new for new, old in enumerate(sorted(used))}
        removed["tensors"] += len(sg.tensors) - len(old_to_new)
        sg.tensors = [sg.tensors[i] for i in sorted(used)]

        def remap(seq: object, table: dict[int, int] = old_to_new) -> list[int]:
            return [table[i] if i >= 0 else i for i in seq]  # type: ignore[union-attr]

        sg.inputs, sg.outputs = remap(sg.inputs), remap(sg.outputs)
        for op in sg.operators:
            op.inputs, op.outputs = remap(op.inputs), remap(op.outputs)
            if op.intermediates is not None:
                op.intermediates = remap(op.intermediates)
        for sig in model.signatureDefs or []:
            for t in (sig.inputs or []) + (sig.outputs or []):
                t.tensorIndex = old_to_new[t.tensorIndex]
        used_buffers.update(t.buffer for t in sg.tensors)
    buf_map = {old: new for new, old in enumerate(sorted(used_buffers))}
    removed["buffers"] = len(model.buffers) - len(buf_map)
    model.buffers = [model.buffers[i] for i in sorted(used_buffers)]
    for sg in model.subgraphs:
        for t in sg.tensors:
            t.buffer = buf_map[t.buffer]
    for md in model.metadata or []:
        md.buffer = buf_map[md.buffer]
    used_codes = sorted({op.opcodeIndex for sg in model.subgraphs for op in sg.operators})
    code_map = {old: new for new, old in enumerate(used_codes)}
    removed["opcodes"] = len(model.operatorCodes) - len(used_codes)
    model.operatorCodes = [model.operatorCodes[i] for i in used_codes]
    for sg in model.subgraphs:
        for op in sg.operators:
            op.opcodeIndex = code_map[op.opcodeIndex]
    return removed


def add_serving_signature(model: schema.ModelT) -> None:
    """Add ``serving_default`` mapping tensor names (``input_1``, ``Identity``...) to indices."""
    if model.signatureDefs:
        return
    sg = model.subgraphs[0]

    def tmap(idx: int) -> schema.TensorMapT:
        m = schema.TensorMapT()
        m.name = _name(sg.tensors[idx])
        m.tensorIndex = idx
        return m

    sig = schema.SignatureDefT()
    sig.signatureKey = "serving_default"
    sig.subgraphIndex = 0
    sig.inputs = [tmap(i) for i in sg.inputs]
    sig.outputs = [tmap(i) for i in sg.outputs]
    model.signatureDefs = [sig]


def drop_outputs(model: schema.ModelT, names: set[str]) -> int:
    """Remove graph outputs by name and every op that only fed them; return the ops dropped."""
    sg = model.subgraphs[0]
    sg.outputs = [i for i in sg.outputs if _name(sg.tensors[i]) not in names]
    for sig in model.signatureDefs or []:
        sig.outputs = [t for t in sig.outputs if t.name not in names]
    needed = set(sg.outputs)
    keep: list[schema.OperatorT] = []
    for op in reversed(sg.operators):  # the op list is topologically sorted
        if any(o in needed for o in op.outputs):
            keep.append(op)
            needed.update(i for i in op.inputs if i >= 0)
    dropped = len(sg.operators) - len(keep)
    sg.operators = keep[::-1]
    prune(model)
    return dropped


def _name(t: schema.TensorT) -> str:
    return t.name.decode() if isinstance(t.name, bytes) else t.name


def fold_file(src: Path, dst: Path, drop: set[str] | None = None) -> None:
    model = flatbuffer_utils.read_model(str(src))
    _constant_folded_first(model)
    for sg in model.subgraphs:
        left = [_builtin(model, op) for op in sg.operators if _builtin(model, op) in (_OP.DENSIFY, _OP.DEQUANTIZE)]
        if left:
            raise RuntimeError(f"{src.name}: {len(left)} DENSIFY/DEQUANTIZE ops could not be folded")
    removed = prune(model)
    add_serving_signature(model)
    if drop:
        n_ops = drop_outputs(model, drop)
        log.info("%s: dropped outputs %s and the %d ops feeding only them", dst.name, sorted(drop), n_ops)
    dst.parent.mkdir(parents=True, exist_ok=True)
    flatbuffer_utils.write_model(model, str(dst))
    log.info("%s -> %s (%.1f MB -> %.1f MB; removed %s)", src.name, dst, src.stat().st_size / 1e6,
             dst.stat().st_size / 1e6, removed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", type=Path, default=REPO / "models" / "built")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name, src in ORIGINALS.items():
        if name in OPTIONAL and not src.is_file():
            log.warning("%s not fetched (leancam fetch needs npm for it): not folded", src)
            continue
        fold_file(src, args.out_dir / f"{name}_fp32.tflite")
        if name.startswith("pose_landmark"):
            fold_file(src, args.out_dir / f"{name}_fp32_noseg.tflite", {"Identity_2"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
