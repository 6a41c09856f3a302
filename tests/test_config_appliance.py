"""The appliance's config: one strict file, environment overrides, a template that round-trips."""

from __future__ import annotations

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from appliance.config import Config, config_from_dict, load_appliance_config
from appliance.config.template import default_toml
from appliance.errors import ConfigError


def test_template_is_valid_toml_and_equals_the_defaults() -> None:
    assert config_from_dict(tomllib.loads(default_toml())) == Config()


def test_env_overrides_typed_values(tmp_path: Path) -> None:
    cfg = load_appliance_config(None, environ={"LEANCAM_WEB_HOST": "0.0.0.0", "LEANCAM_WEB_PORT": "9000",
                                               "LEANCAM_LEDS_BUZZER": "true", "LEANCAM_CAMERA_FPS": "30"})
    assert (cfg.web.host, cfg.web.port, cfg.leds.buzzer, cfg.camera.fps) == ("0.0.0.0", 9000, True, 30.0)


def test_env_beats_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[web]\nport = 8000\n[leds]\nred_pin = 5\n")
    cfg = load_appliance_config(path, environ={"LEANCAM_WEB_PORT": "8001"})
    assert cfg.web.port == 8001 and cfg.leds.red_pin == 5


@pytest.mark.parametrize(("text", "needle"), [
    ("[web]\nprot = 1\n", "unknown key 'prot'"),
    ("[nonsense]\n", "unknown key 'nonsense'"),
    ("[web]\nport = 'eighty'\n", "must be int"),
    ("[camera]\nfps = nan\n", "finite"),
    ("[recording]\npre_roll_s = -1\n", "between"),
    ("[retention]\nquota_mb = -5\n", "positive"),
    ("[gait]\ntoe_off_ahead_ll = 2.0\n", "gait.toe_off_ahead_ll: 0 \\(off\\) to 1 leg length"),
    ("[gait]\ncarried_landing_ll = 0.5\n", "gait.carried_landing_ll: 0 \\(off\\) to 0.3 leg lengths"),
    ("[web\n", "not valid TOML"),
])
def test_bad_files_are_one_clear_error(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_appliance_config(path, environ={})


def test_bad_env_value() -> None:
    with pytest.raises(ConfigError, match="LEANCAM_WEB_PORT"):
        load_appliance_config(None, environ={"LEANCAM_WEB_PORT": "http"})


def test_default_file_is_used_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "leancam.toml"
    path.write_text("[gait]\nmax_gap_s = 0.5\n")
    monkeypatch.setenv("LEANCAM_CONFIG", str(path))
    assert math.isclose(load_appliance_config(None, environ={}).gait.max_gap_s, 0.5)


def test_cli_check_reports_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[leds]\nred = 9\n")
    proc = subprocess.run([sys.executable, "-m", "appliance", "config", "--check", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "unknown key 'red'" in proc.stderr and "Traceback" not in proc.stderr


def test_docs_show_the_current_defaults() -> None:
    """docs/configuration.md embeds `leancam config --defaults`; regenerate it when a default changes."""
    doc = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    assert default_toml() in doc, "docs/configuration.md is stale: paste `leancam config --defaults` into it"


def test_finite_number_rule() -> None:
    """appliance.numbers: config values must be finite numbers; NaN/inf become null for JSON and SQLite."""
    import math

    from appliance.numbers import finite_or_none, is_finite_number, json_safe

    assert is_finite_number(1) and is_finite_number(-0.5)
    assert not any(is_finite_number(v) for v in (True, math.nan, math.inf, "1", None))
    assert finite_or_none(3) == 3.0 and finite_or_none(math.nan) is None and finite_or_none(None) is None
    assert json_safe({"a": [1.0, math.inf, {"b": math.nan}], "c": 2}) == {"a": [1.0, None, {"b": None}], "c": 2}
