"""``leancam fleet``: every unit on a broker in one table, and an export of their events to CSV.

The table is built from the retained ``<prefix>/+/state`` and ``<prefix>/+/availability`` topics,
so it is complete the moment it connects and follows each unit live. ``--export`` asks every
online unit for its events over MQTT (``<prefix>/<unit>/export/request``); each answers from its
own outbox — the same events, with the same ids, that it published live — so nothing depends on
this command having been running at the time. See docs/fleet.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import logging
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from appliance.errors import BadInputError, LeanCamError
from appliance.mqtt.fleet import FleetClient, UnitView, parse_broker

log = logging.getLogger(__name__)

CSV_COLUMNS = ("unit", "unit_name", "session", "run", "seq", "kind", "verdict", "reasons", "wall_time",
               "capture_t_s", "t_s", "foot", "contact_t_s", "midstance_t_s", "toe_off_t_s", "lean_deg",
               "pelvis_offset", "trunk_deg", "hip_over_foot", "cadence_spm", "overstride", "speed_ll_s", "id")
RETAINED_WAIT_S = 1.0  # retained availability/state arrive right after SUBSCRIBE; this is plenty on a LAN


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fleet", help="live table of every unit on an MQTT broker; export their events to CSV",
                       description="Show every LeanCam unit publishing to BROKER, or export their events.")
    p.add_argument("--broker", required=True, metavar="URL",
                   help="mqtt://host[:port] or mqtts://host[:port] (TLS, default port 8883); a bare host works too")
    p.add_argument("--username", default="", help="broker login")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--tls", action="store_true", help="TLS (implied by mqtts://)")
    p.add_argument("--ca-file", default="", help="CA certificate for the broker's TLS certificate (PEM)")
    p.add_argument("--prefix", default="leancam", help="the units' [mqtt] topic_prefix (default leancam)")
    p.add_argument("--seconds", type=float, metavar="N",
                   help="print the table once after N seconds and exit (default: refresh until Ctrl-C)")
    p.add_argument("--export", metavar="SESSION_OR_DATE",
                   help="export events: today, YYYY-MM-DD (this machine's local day), latest (each unit's "
                        "latest session), N (session N on every unit) or UNIT:N / UNIT:latest")
    p.add_argument("--out", metavar="FILE.csv", help="CSV file for --export (default: stdout)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="how long --export waits for the units' answers (default 10)")
    p.set_defaults(func=run)


# -- table -----------------------------------------------------------------------------------------

def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_table(units: list[UnitView], now_s: float | None = None) -> str:
    """The fleet table as text: one row per unit, newest verdicts and status."""
    header = ("UNIT", "STATUS", "LIGHT", "VERDICT", "KIND", "REASONS", "LEAN°", "CADENCE", "HIP/FOOT", "FPS",
              "IN VIEW", "REC", "UPDATED")
    rows = [header]
    for u in units:
        s = u.state
        rows.append((s.get("unit_name") or u.slug, u.availability, _fmt(s.get("light")), _fmt(s.get("verdict")),
                     _fmt(s.get("kind")), ",".join(s.get("reasons") or []) or "-", _fmt(s.get("lean_deg")),
                     _fmt(s.get("cadence_spm"), 0), _fmt(s.get("hip_over_foot"), 2), _fmt(s.get("fps")),
                     _fmt(s.get("person_in_view")), _fmt(s.get("recording")),
                     str(s.get("updated_at") or "-").replace("T", " ")[:19]))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    if len(rows) == 1:
        lines.append("(no units seen yet)")
    return "\n".join(lines) + "\n"


def _show_live(client: FleetClient, seconds: float | None) -> int:
    if seconds is not None:
        time.sleep(max(seconds, 0.0))
        sys.stdout.write(render_table(client.snapshot()))
        return 0
    tty = sys.stdout.isatty()
    try:
        while True:
            table = render_table(client.snapshot())
            if tty:
                sys.stdout.write("\x1b[H\x1b[2J" + table + "\n(Ctrl-C to quit)\n")  # home + clear: refresh in place
            else:
                sys.stdout.write(table + "\n")
            sys.stdout.flush()
            time.sleep(1.0)
    except KeyboardInterrupt:
        return 0


# -- export ----------------------------------------------------------------------------------------

def parse_export(spec: str, today: dt.date | None = None) -> tuple[str | None, dict[str, Any]]:
    """``--export`` → (only this unit or None, request fields)."""
    spec = spec.strip()
    unit, sep, rest = spec.rpartition(":")
    if sep:
        if not unit:
            raise BadInputError(f"--export {spec!r}: UNIT:N needs a unit")
        spec = rest
    if spec == "latest":
        return (unit or None), {"session": "latest"}
    if spec.isdigit():
        return (unit or None), {"session": int(spec)}
    if sep:
        raise BadInputError(f"--export {unit}:{spec}: after UNIT: a session number or latest")
    if spec == "today":
        day = today or dt.date.today()
    else:
        try:
            day = dt.date.fromisoformat(spec)
        except ValueError as err:
            raise BadInputError(f"--export {spec!r}: today, YYYY-MM-DD, latest, N or UNIT:N") from err
    start = dt.datetime.combine(day, dt.time()).astimezone()  # this machine's local midnight
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).astimezone()
    return None, {"since_s": start.timestamp(), "until_s": end.timestamp()}


def _export(client: FleetClient, spec: str, out: str | None, timeout_s: float) -> int:
    only, request = parse_export(spec)
    time.sleep(RETAINED_WAIT_S)  # the retained availability of every unit
    units = [u.slug for u in client.snapshot() if u.availability == "online"]
    if only is not None:
        units = [u for u in units if u == only]
        if not units:
            raise LeanCamError(f"unit {only!r} is not online on this broker (it answers from its own outbox)")
    if not units:
        raise LeanCamError("no unit is online on this broker: units answer export requests from their own outbox")
    rid = uuid.uuid4().hex
    for unit in units:
        client.request_export(unit, {**request, "request": rid})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with client.lock:
            if all(client.replies.get(u, {}).get("done") for u in units):
                break
        time.sleep(0.05)
    with client.lock:
        missing = [u for u in units if not client.replies.get(u, {}).get("done")]
        events = [e for u in units for e in client.replies.get(u, {}).get("events", [])]
    for unit in missing:
        print(f"leancam: warning: unit {unit} did not answer within {timeout_s:g} s; its events are missing",
              file=sys.stderr)
    seen: set[str] = set()
    unique = []
    for e in events:  # the same id twice (a re-sent event) is one event
        if e.get("id") in seen:
            continue
        seen.add(str(e.get("id")))
        unique.append(e)
    unique.sort(key=lambda e: (e.get("wall_time_s") or 0, str(e.get("unit")), e.get("seq") or 0))
    write_csv(unique, out)
    print(f"exported {len(unique)} events from {len(units) - len(missing)} of {len(units)} units"
          + (f" to {out}" if out else ""), file=sys.stderr)
    return 0


def write_csv(events: list[dict[str, Any]], out: str | None) -> None:
    def rows() -> list[dict[str, Any]]:
        return [{c: ";".join(e[c]) if c == "reasons" and isinstance(e.get(c), list) else e.get(c)
                 for c in CSV_COLUMNS} for e in events]

    if out is None:
        writer = csv.DictWriter(sys.stdout, CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows())
        return
    try:
        with Path(out).open("w", newline="") as fh:
            writer = csv.DictWriter(fh, CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(rows())
    except OSError as err:
        raise LeanCamError(f"--out {out}: cannot write ({err.strerror or err})") from err


def run(args: argparse.Namespace) -> int:
    broker = parse_broker(args.broker, args.tls)
    password = ""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    if args.out and not args.export:
        raise BadInputError("--out goes with --export")
    client = FleetClient(broker, args.username, password, args.ca_file, args.prefix)
    client.connect()
    try:
        if args.export:
            return _export(client, args.export, args.out, args.timeout)
        return _show_live(client, args.seconds)
    finally:
        client.close()
