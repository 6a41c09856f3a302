"""Shared fixtures: the two demo clips and the real running clips in ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from appliance import paths
from appliance.ops import assets
from appliance.pose.types import PoseFrame


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    """The Sports2D walking clip, ``--source demo:walk`` (fetched by ./setup.sh; BSD-3-Clause).

    The name predates the running demo: the golden references (tests/data/golden/demo_mediapipe.json)
    and the pose, source and web tests are bound to this clip, so they keep testing what they did.
    """
    return assets.require("demo_clip", verify=False)


@pytest.fixture(scope="session")
def running_demo() -> Path:
    """The running demo, the default ``--source demo`` (bundled in models/demo/running/; MIT)."""
    return assets.require("demo_run_clip", verify=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data with the real running clips; tests using it skip when it is absent."""
    root = paths.shared_data_dir()
    if not (root / "README.md").is_file():
        pytest.skip(f"real running clips not available at {root} (../shared/data beside the repo)")
    return root


@pytest.fixture(scope="session")
def shared_data_or_none() -> Path | None:
    """../shared/data when present (tests that can also run on the demo clip use this)."""
    root = paths.shared_data_dir()
    return root if (root / "README.md").is_file() else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from appliance.sources.picamera import picamera2_available

    if picamera2_available():
        return
    skip_hw = pytest.mark.skip(reason="needs the Raspberry Pi camera/GPIO (picamera2 not installed here)")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip_hw)


@pytest.fixture(scope="session")
def pose_frames() -> Callable[[Path], list[PoseFrame]]:
    """Our pose engine's frames for a clip, computed once per test session and shared by all tests.

    Several test modules analyse the same real clips; running the model once per clip keeps the
    suite's time in check. Returns a function ``clip path -> list[PoseFrame]``.
    """
    from appliance.pose.engine import PoseEngine
    from appliance.sources.video_file import VideoFileSource

    cache: dict[Path, list[PoseFrame]] = {}
    engine = PoseEngine.from_assets()

    def frames_of(path: Path) -> list[PoseFrame]:
        key = Path(path).resolve()
        if key not in cache:
            engine.reset()
            with VideoFileSource(key) as src:
                cache[key] = [engine.process(f) for f in src.frames()]
        return cache[key]

    return frames_of


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config or writes into their recordings: each gets its own state dir.

    Tests that need a specific state dir set LEANCAM_STATE_DIR themselves (their monkeypatch wins).
    """
    root = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("LEANCAM_STATE_DIR", str(root))
    monkeypatch.setenv("LEANCAM_CONFIG", str(root / "leancam.toml"))
    for name in [n for n in os.environ if n.startswith("LEANCAM_") and n.count("_") >= 2
                 and n.split("_")[1].lower() in ("camera", "leds", "web", "recording", "retention", "gait", "lean")]:
        monkeypatch.delenv(name)
