"""Shared fixtures: the bundled demo clip and the real running clips in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance import assets, paths


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    """The bundled demo clip (fetched by ./setup.sh; redistributable, BSD-3-Clause)."""
    return assets.require("demo_clip", verify=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data with the real running clips; tests using it skip when it is absent."""
    root = paths.shared_data_dir()
    if not (root / "README.md").is_file():
        pytest.skip(f"real running clips not available at {root} (../shared/data beside the repo)")
    return root


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from appliance.sources.picamera import picamera2_available

    if picamera2_available():
        return
    skip_hw = pytest.mark.skip(reason="needs the Raspberry Pi camera/GPIO (picamera2 not installed here)")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip_hw)
