"""The systemd units verify cleanly (systemd-analyze prints warnings yet exits 0, so both count)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from appliance import paths

UNIT_DIR = paths.REPO_ROOT / "systemd"


@pytest.fixture
def rendered_unit(tmp_path: Path) -> Path:
    text = (UNIT_DIR / "leancam.service").read_text().replace("@PREFIX@", str(paths.REPO_ROOT))
    unit = tmp_path / "leancam.service"
    unit.write_text(text)
    return unit


def test_service_unit_verifies(rendered_unit: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    if not (paths.REPO_ROOT / ".venv" / "bin" / "leancam").exists():
        pytest.skip("no .venv/bin/leancam to point ExecStart at (run ./setup.sh)")
    proc = subprocess.run(["systemd-analyze", "verify", str(rendered_unit)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr


def test_service_unit_has_the_safety_settings(rendered_unit: Path) -> None:
    text = rendered_unit.read_text()
    for needed in ("Type=notify", "User=leancam", "Restart=always", "WatchdogSec=", "ProtectSystem=strict",
                   "StateDirectory=leancam", "NoNewPrivileges=yes"):
        assert needed in text


def test_sysusers_and_tmpfiles_apply_to_a_scratch_root(tmp_path: Path) -> None:
    """Apply both files to an empty root: the user exists and owns the state directories."""
    if not (shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles")):
        pytest.skip("systemd-sysusers / systemd-tmpfiles not installed")
    (tmp_path / "etc").mkdir()
    for cmd in (["systemd-sysusers", f"--root={tmp_path}", str(UNIT_DIR / "leancam.sysusers")],
                ["systemd-tmpfiles", "--create", f"--root={tmp_path}", str(UNIT_DIR / "leancam.tmpfiles")]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    passwd = {ln.split(":")[0]: ln.split(":") for ln in (tmp_path / "etc/passwd").read_text().splitlines()}
    assert passwd["leancam"][6] == "/usr/sbin/nologin"
    uid = int(passwd["leancam"][2])
    recordings = tmp_path / "var/lib/leancam/recordings"
    assert recordings.is_dir()
    assert recordings.stat().st_uid == uid
    assert oct(recordings.stat().st_mode & 0o777) == "0o750"
    groups = {ln.split(":")[0]: ln.split(":")[3].split(",") for ln in (tmp_path / "etc/group").read_text().splitlines()}
    assert "leancam" in groups["video"]
