"""Fast checks of the model build (models/build) and the shipped variants (models/built).

- the fp16 → fp32 fold is exact: on a real crop from the bundled demo clip the folded models match
  the original MediaPipe files within 1e-3, and folding again reproduces the manifest's sha256;
- DENSIFY expansion follows the TFLite sparse format (a hand-made CSR tensor);
- every variant the manifest marks shipped is in models/built with the manifest's sha256 and size.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BUILT = REPO / "models" / "built"
MANIFEST = BUILT / "manifest.json"
ORIG = REPO / "models" / "blazepose"
DEMO = REPO / "models" / "demo" / "demo.mp4"

needs_originals = pytest.mark.skipif(
    not (ORIG / "pose_landmark_full.tflite").is_file() or not DEMO.is_file(),
    reason="original BlazePose models / demo clip not fetched (run ./setup.sh or `leancam fetch`)",
)


needs_lite = pytest.mark.skipif(not (ORIG / "pose_landmark_lite.tflite").is_file(),
                                reason="pose_landmark_lite.tflite not fetched (needs npm: `leancam fetch`)")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _manifest() -> dict:
    return json.loads(MANIFEST.read_text())


@pytest.fixture(scope="module")
def folded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from models.build import fold_fp16

    out = tmp_path_factory.mktemp("folded")
    assert fold_fp16.main(["--out-dir", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def real_inputs() -> tuple[np.ndarray, np.ndarray]:
    """A letterboxed detector input and a detector→ROI→warp landmark crop from the demo clip."""
    import av
    from ai_edge_litert.interpreter import Interpreter

    from models.build import blazepose as bp

    it = Interpreter(model_path=str(ORIG / "pose_detection.tflite"), num_threads=2)
    it.allocate_tensors()
    # The first sampled frame of the demo clip in which the original detector finds a person.
    with av.open(str(DEMO)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i % 10:
                continue
            rgb = frame.to_ndarray(format="rgb24")
            det_u8, lb = bp.detector_input(rgb)
            it.set_tensor(it.get_input_details()[0]["index"], bp.det_normalize(det_u8))
            it.invoke()
            outs = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
            dets = bp.decode_detections(outs["Identity"], outs["Identity_1"], lb)
            if dets:
                break
    assert dets, "the demo clip shows a person"
    crop = bp.warp_crop(rgb, bp.roi_from_detection(dets[0]))
    return bp.det_normalize(det_u8), bp.lmk_normalize(crop)


def _run(path: Path, x: np.ndarray) -> dict[str, np.ndarray]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=2)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return {d["name"]: it.get_tensor(d["index"]).copy() for d in it.get_output_details()}


@needs_originals
@pytest.mark.parametrize(
    ("original", "folded_name", "which"),
    [
        ("pose_detection.tflite", "pose_detection_fp32.tflite", 0),
        ("pose_landmark_full.tflite", "pose_landmark_full_fp32.tflite", 1),
        ("pose_landmark_full.tflite", "pose_landmark_full_fp32_noseg.tflite", 1),
        # The lite profile's model (issue 19): an optional asset (npm), folded only when fetched.
        *[pytest.param("pose_landmark_lite.tflite", name, 1, marks=needs_lite)
          for name in ("pose_landmark_lite_fp32.tflite", "pose_landmark_lite_fp32_noseg.tflite")],
    ],
)
def test_folded_matches_original_on_real_crop(folded, real_inputs, original, folded_name, which) -> None:
    x = real_inputs[which]
    ref = _run(ORIG / original, x)
    got = _run(folded / folded_name, x)
    assert set(got) <= set(ref)
    for name, v in got.items():
        np.testing.assert_allclose(v, ref[name], atol=1e-3, rtol=0, err_msg=f"{folded_name}:{name}")
    if "noseg" in folded_name:
        assert "Identity_2" not in got  # the segmentation mask is what that file drops


@needs_originals
def test_fold_reproduces_manifest_sha(folded) -> None:
    if not MANIFEST.is_file():
        pytest.skip("no manifest yet")
    for model in _manifest()["models"].values():
        if model["name"] == "pose_landmark_lite" and not (ORIG / "pose_landmark_lite.tflite").is_file():
            continue  # optional asset not fetched: fold_fp16 skipped it
        for name, v in model["variants"].items():
            if name.startswith("fp32"):
                assert _sha(folded / Path(v["file"]).name) == v["sha256"], v["file"]


def test_densify_csr() -> None:
    from ai_edge_litert import schema_py_generated as schema

    from models.build.fold_fp16 import densify

    dense = np.array([[0, 2, 0], [0, 0, 0], [5, 0, 7]], dtype=np.float16)
    t = schema.TensorT()
    t.name, t.shape = b"w", [3, 3]
    sp = schema.SparsityParametersT()
    sp.traversalOrder = [0, 1]
    d0 = schema.DimensionMetadataT()
    d0.format, d0.denseSize = schema.DimensionType.DENSE, 3
    d1 = schema.DimensionMetadataT()
    d1.format = schema.DimensionType.SPARSE_CSR
    d1.arraySegments, d1.arrayIndices = schema.Int32VectorT(), schema.Int32VectorT()
    d1.arraySegments.values, d1.arrayIndices.values = [0, 1, 1, 3], [1, 0, 2]
    sp.dimMetadata = [d0, d1]
    t.sparsity = sp
    np.testing.assert_array_equal(densify(t, np.array([2, 5, 7], dtype=np.float16)), dense)


@pytest.mark.skipif(not MANIFEST.is_file(), reason="models/built/manifest.json not built")
def test_shipped_files_match_manifest() -> None:
    manifest = _manifest()
    for model in manifest["models"].values():
        assert model["default"] in model["variants"]
        for name, v in model["variants"].items():
            path = REPO / v["file"]
            if v.get("shipped"):
                assert path.is_file(), f"{name}: shipped file {path} missing"
                assert path.stat().st_size == v["size_bytes"], path
                assert _sha(path) == v["sha256"], f"{path} does not match its manifest sha256"


@pytest.mark.skipif(not MANIFEST.is_file(), reason="models/built/manifest.json not built")
def test_defaults_pass_on_every_measured_kernel_family() -> None:
    """Issue 16: the default variants hold the 3 px gate on every CPU family measured (x86 and the
    Pi's arm64), and the manifest says which families those are."""
    from appliance.pose.variants import figure_key
    from models.build.gate import GATE

    manifest = _manifest()
    families = set(manifest["kernel_families"])
    assert any(f.startswith("x86_64") for f in families) and any(f.startswith("arm64") for f in families)
    for m in ("detector", "landmark"):
        entry = manifest["models"][m]
        default = entry["variants"][entry["default"]]
        assert set(default["by_kernel"]) == families, f"{m} {entry['default']}: not measured on every family"
        key = figure_key(m)
        for fam, fig in default["by_kernel"].items():
            assert fig[key] <= GATE[m][key], f"{m} {entry['default']} on {fam}: {fig[key]}"
        assert default["worst_kernel"][key] == max(f[key] for f in default["by_kernel"].values())


@pytest.mark.skipif(not MANIFEST.is_file(), reason="models/built/manifest.json not built")
def test_merge_bounds_a_variant_by_its_worst_family(tmp_path: Path) -> None:
    """A family on which the default landmark variant misses the gate fails it everywhere and moves
    the default; a result for a file that is not the manifest's (other sha256) is not recorded."""
    from models.build.gate import apply_kernel_figures, merge_kernel_file

    manifest = _manifest()
    lm = manifest["models"]["landmark"]
    name = lm["default"]
    var = lm["variants"][name]
    bad = {"family": "arm64-test", "machine": "aarch64", "models": {"landmark": {
        name: {"mean_px": 3.4, "p95_px": 9.0, "sha256": var["sha256"],
               "mean_px_by_clip": {"demo.mp4": 4.1}},
        "fp32": {"mean_px": 0.0, "sha256": "0" * 64},
    }}}
    path = tmp_path / "kernel-arm64-test.json"
    path.write_text(json.dumps(bad))
    assert merge_kernel_file(manifest, path) == "arm64-test"
    apply_kernel_figures(manifest)
    assert "arm64-test" in manifest["kernel_families"]
    assert var["worst_kernel"]["family"] == "arm64-test" and var["worst_kernel"]["mean_px"] == 3.4
    assert var["worst_kernel"]["mean_px_by_clip"]["demo.mp4"] == 4.1
    assert not var["accuracy_pass"] and not var["pass"] and not var["shipped"]
    assert lm["default"] != name
    assert "arm64-test" not in lm["variants"]["fp32"]["by_kernel"]  # other sha256: skipped
    # The other models, the lite one included, are still decided (the merge used to stop on it).
    assert manifest["models"]["detector"]["default"] == _manifest()["models"]["detector"]["default"]
