"""The one place a TFLite interpreter is built: LiteRT first, tflite-runtime as a fallback.

ai-edge-litert is the runtime we ship (aarch64 wheels for the Pi's Python, XNNPACK on by default);
tflite-runtime 2.14 still works on older images but needs numpy < 2 and is slower for int8, so it is
only a fallback. Either way the interpreter is built and its tensors allocated exactly once per model.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from appliance.errors import ModelError

log = logging.getLogger(__name__)


def _interpreter_class() -> tuple[type, str]:
    """The first importable Interpreter class and the name of the package it came from."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore[import-not-found]

        return Interpreter, "tflite-runtime"
    except ImportError:
        pass
    raise ModelError("no TFLite runtime installed (ai-edge-litert or tflite-runtime): run ./setup.sh")


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence the runtime's C++ banner ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.").

    LiteRT logs it straight to file descriptor 2 with no Python switch, and users of ``leancam``
    should see one clear line per problem, not runtime chatter. Failures still raise Python
    exceptions with their message, which we turn into ModelError; with ``-v`` nothing is hidden.
    """
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_interpreter(path: Path, num_threads: int = 2) -> Any:
    """Build an interpreter for ``path`` with tensors allocated, or raise ModelError.

    ``num_threads`` defaults to 2: the Pi has 4 cores and the pipeline's other threads (decode,
    analysis, web) need the rest.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} is missing: run ./setup.sh (or `leancam fetch`) to fetch it")
    cls, runtime = _interpreter_class()
    try:
        with _quiet_native_stderr():
            interpreter = cls(model_path=str(path), num_threads=num_threads)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        # The runtime reports a truncated or non-flatbuffer file as ValueError/RuntimeError.
        raise ModelError(
            f"model file {path} could not be loaded ({err.__class__.__name__}): it may be corrupt; "
            "delete it and run ./setup.sh to fetch it again"
        ) from err
    log.debug("loaded %s with %s (%d threads)", path.name, runtime, num_threads)
    return interpreter


def tensor_details(interpreter: Any, names: dict[str, str], path: Path) -> dict[str, dict[str, Any]]:
    """Output details looked up by tensor *name* (``{role: name}`` → ``{role: details}``).

    By name, not position or shape: the ``_noseg`` builds drop ``Identity_2`` (the segmentation
    mask), which shifts every later output's index. A missing name is a ModelError naming what the
    file does have.
    """
    by_name = {d["name"]: d for d in interpreter.get_output_details()}
    missing = [n for n in names.values() if n not in by_name]
    if missing:
        raise ModelError(f"{Path(path).name}: outputs {sorted(by_name)} lack {', '.join(missing)}")
    return {role: by_name[n] for role, n in names.items()}


def quantization(details: dict[str, Any]) -> tuple[float, int] | None:
    """(scale, zero point) of an int8/uint8 tensor, None for a float one."""
    if details["dtype"] == np.float32:
        return None
    scale, zero = details["quantization"]
    if details["dtype"] not in (np.int8, np.uint8) or not scale:
        raise ModelError(f"tensor {details['name']}: unsupported type {details['dtype']} {details['quantization']}")
    return float(scale), int(zero)


def input_lut(details: dict[str, Any], scale: float, offset: float) -> np.ndarray:
    """256-entry table mapping a uint8 pixel to the model input value ``pixel * scale + offset``.

    For a float input the values are exactly what ``pixel * scale`` in float64 then float32 gives
    (so float models see bit-identical inputs); for an int8 input they are quantized with the
    tensor's own scale and zero point. Normalising is then one table lookup into the input buffer
    (:func:`normalize_into`). Shape (1, 256), as ``cv2.LUT`` wants it.
    """
    values = np.arange(256, dtype=np.float64) * scale
    q = quantization(details)
    if q is None:
        return (values.astype(np.float32) + np.float32(offset)).reshape(1, 256)
    s, zero = q
    info = np.iinfo(details["dtype"])
    real = values.astype(np.float32) + np.float32(offset)
    return np.clip(np.round(real / s + zero), info.min, info.max).astype(details["dtype"]).reshape(1, 256)


def normalize_into(lut: np.ndarray, image: np.ndarray, dst: np.ndarray) -> None:
    """``dst[...] = lut[image]`` for a uint8 image, written straight into ``dst`` (the model input view).

    cv2.LUT: ~0.06 ms for a 256×256×3 crop against ~0.09 ms for ``np.multiply`` into float32 and
    ~0.26 ms for ``np.take`` (measured on the 2-core dev machine), and bit-identical to both.
    """
    out = cv2.LUT(image, lut, dst=dst)
    if out.ctypes.data != dst.ctypes.data:  # OpenCV allocated elsewhere (never seen): copy it in
        dst[...] = out
