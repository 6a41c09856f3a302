"""``leancam doctor`` finds real problems and prints a fix for each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main


def test_healthy_machine_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok  ] models" in out and "[ok  ] runtime" in out


def test_missing_models_fail_with_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LEANCAM_MODELS_DIR", str(tmp_path))
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] models" in out
    assert "fix: ./setup.sh" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", "--json"])
    checks = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in checks} == {"runtime", "models", "camera", "gpio", "disk", "clock"}
    assert all(c["fix"] for c in checks if not c["ok"])
