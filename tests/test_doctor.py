"""``leancam doctor`` finds real problems and prints a fix for each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.broker import LocalMosquitto, mosquitto_available

from appliance.cli import main
from appliance.ops.doctor import check_mqtt


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
    assert {c["name"] for c in checks} == {"runtime", "models", "pose profile", "camera", "gpio", "disk", "clock",
                                           "mqtt"}
    assert all(c["fix"] for c in checks if not c["ok"])


@pytest.mark.skipif(not mosquitto_available(), reason="mosquitto not installed (setup.sh --dev)")
def test_mqtt_check_logs_in_to_a_real_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with LocalMosquitto(tmp_path / "broker", users={"unit": "right"}) as broker:
        monkeypatch.setenv("LEANCAM_MQTT_ENABLED", "true")
        monkeypatch.setenv("LEANCAM_MQTT_HOST", "127.0.0.1")
        monkeypatch.setenv("LEANCAM_MQTT_PORT", str(broker.port))
        monkeypatch.setenv("LEANCAM_MQTT_USERNAME", "unit")
        monkeypatch.setenv("LEANCAM_MQTT_PASSWORD", "right")
        assert check_mqtt().ok
        monkeypatch.setenv("LEANCAM_MQTT_PASSWORD", "wrong")
        bad = check_mqtt()
        assert not bad.ok and not bad.required  # the unit still judges; events wait in the outbox
        assert "refused the login" in bad.detail and "LEANCAM_MQTT_PASSWORD" in bad.fix
    # The broker is gone: a warning naming where it looked, and `doctor` still exits 0.
    gone = check_mqtt()
    assert not gone.ok and f"127.0.0.1:{broker.port}" in gone.detail
    assert main(["doctor"]) == 0
    assert "[warn] mqtt" in capsys.readouterr().out


def test_mqtt_check_is_quiet_when_mqtt_is_off() -> None:
    c = check_mqtt()
    assert c.ok and "off" in c.detail
