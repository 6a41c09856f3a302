"""``leancam fleet`` against a real broker: three units at once in one table, export, a wrong password.

The units are three real ``leancam run`` processes (own state dir, config and unit name each)
replaying sprint clips; the fleet command is run as a user would, as a subprocess.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.broker import LocalMosquitto, Recorder, mosquitto_available

from appliance.commands.fleet import parse_export, render_table
from appliance.errors import BadInputError
from appliance.mqtt.fleet import UnitView, parse_broker

pytestmark = pytest.mark.skipif(not mosquitto_available(), reason="mosquitto not installed (setup.sh --dev)")

LEANCAM = [sys.executable, "-m", "appliance"]


def leancam(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LEANCAM, *args], input=stdin, capture_output=True, text=True, timeout=timeout)


def test_parse_broker_and_export_spec() -> None:
    assert parse_broker("mqtt://10.0.0.2") == parse_broker("10.0.0.2") == parse_broker("10.0.0.2:1883")
    b = parse_broker("mqtts://broker.lan")
    assert (b.host, b.port, b.tls) == ("broker.lan", 8883, True)
    with pytest.raises(BadInputError):
        parse_broker("http://x")
    day = dt.date(2026, 11, 25)
    unit, req = parse_export("2026-11-25")
    assert unit is None and req["until_s"] - req["since_s"] in (86400, 82800, 90000)  # a day (DST: 23/25 h)
    assert parse_export("today", today=day) == parse_export("2026-11-25")
    assert parse_export("latest") == (None, {"session": "latest"})
    assert parse_export("track-a:3") == ("track-a", {"session": 3})
    for bad in ("yesterday", "a:b", ":3"):
        with pytest.raises(BadInputError):
            parse_export(bad)


def test_table_shows_each_unit() -> None:
    text = render_table([UnitView("a", "online", {"unit_name": "A", "verdict": "no_go", "reasons": ["sitting_back"],
                                                  "lean_deg": 12.5, "cadence_spm": 178, "hip_over_foot": -0.2}),
                         UnitView("b", "offline", {})])
    lines = text.splitlines()
    assert lines[0].startswith("UNIT") and len(lines) == 3
    assert "no_go" in lines[1] and "sitting_back" in lines[1] and "12.5" in lines[1] and "178" in lines[1]
    assert lines[2].startswith("b ") and "offline" in lines[2]


def _start_unit(tmp: Path, name: str, clip: Path, port: int) -> subprocess.Popen[str]:
    home = tmp / name
    home.mkdir()
    (home / "leancam.toml").write_text(f'[unit]\nname = "{name}"\n\n[mqtt]\nenabled = true\nhost = "127.0.0.1"\n'
                                       f"port = {port}\n\n[recording]\nenabled = false\n")
    env = {**os.environ, "LEANCAM_STATE_DIR": str(home), "LEANCAM_CONFIG": str(home / "leancam.toml")}
    return subprocess.Popen([*LEANCAM, "run", "--source", f"file:{clip}", "--no-realtime", "--loop", "--duration", "40",
                             "--no-web", "--threads", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_three_units_at_once_show_up_in_fleet_and_export(tmp_path: Path, shared_data: Path) -> None:
    clips = [shared_data / "sprint_starts" / f"{b}.mp4" for b in ("b2", "b4", "b6")]
    names = ["Lane 1", "Lane 2", "Lane 3"]
    with LocalMosquitto(tmp_path / "broker") as broker:
        sub = Recorder(broker.port, ["leancam/+/event"])
        units = [_start_unit(tmp_path, n, c, broker.port) for n, c in zip(names, clips, strict=True)]
        try:
            # Every unit has published at least one verdict.
            assert sub.wait_for(lambda: {t.split("/")[1] for t, _, _ in sub.messages} == {"lane-1", "lane-2", "lane-3"},
                                45), [u.poll() for u in units]
            table = leancam("fleet", "--broker", broker.url, "--seconds", "1.5")
            assert table.returncode == 0, table.stderr
            rows = {line.split("  ")[0]: line for line in table.stdout.splitlines()[1:]}
            assert set(rows) == set(names), table.stdout
            for line in rows.values():
                assert " online " in line and any(v in line for v in (" go ", " no_go ", " unsure "))

            seen = {json.loads(p)["id"] for _, p, _ in sub.messages}
            out = tmp_path / "events.csv"
            export = leancam("fleet", "--broker", broker.url, "--export", "today", "--out", str(out))
            assert export.returncode == 0, export.stderr
            assert "from 3 of 3 units" in export.stderr
        finally:
            for u in units:
                u.send_signal(signal.SIGTERM)
            for u in units:
                u.wait(timeout=30)
            sub.close()
        assert all(u.returncode == 0 for u in units), [u.stderr.read()[-2000:] for u in units if u.returncode]
        with out.open() as fh:
            exported = list(csv.DictReader(fh))
        ids = [r["id"] for r in exported]
        assert len(ids) == len(set(ids))  # de-duplicated
        assert seen <= set(ids)  # everything published live before the export is in it
        assert {r["unit_name"] for r in exported} == set(names)
        assert {r["kind"] for r in exported} <= {"initiation", "stride"}
        assert all(r["verdict"] in ("go", "no_go", "unsure") for r in exported)
        print(f"\nthree units: {len(seen)} events seen live, {len(exported)} exported")

        # After a clean stop every unit says so (retained availability).
        after = leancam("fleet", "--broker", broker.url, "--seconds", "0.5")
        assert after.stdout.count(" offline ") == 3, after.stdout


def test_wrong_password_is_one_clear_line_exit_2(tmp_path: Path) -> None:
    with LocalMosquitto(tmp_path / "broker", users={"coach": "s3cret"}) as broker:
        wrong = leancam("fleet", "--broker", broker.url, "--username", "coach", "--password-stdin", "--seconds", "0",
                        stdin="nope\n")
        right = leancam("fleet", "--broker", broker.url, "--username", "coach", "--password-stdin", "--seconds", "0",
                        stdin="s3cret\n")
    assert wrong.returncode == 2
    assert wrong.stderr.strip().count("\n") == 0 and "refused the login" in wrong.stderr, wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert right.returncode == 0 and "(no units seen yet)" in right.stdout, right.stderr


def test_unreachable_broker_is_one_line(tmp_path: Path) -> None:
    port = LocalMosquitto(tmp_path).port  # nothing listens
    res = leancam("fleet", "--broker", f"127.0.0.1:{port}", "--seconds", "0")
    assert res.returncode == 1 and "cannot reach the MQTT broker" in res.stderr and "Traceback" not in res.stderr
