"""MQTT topic names and payloads: pure functions, the documented contract of docs/fleet.md.

Topics (``<prefix>`` = ``[mqtt] topic_prefix``, ``<unit>`` = ``unit_slug([unit] name)``)::

    <prefix>/<unit>/availability   "online" / "offline" (retained; "offline" is the last will)
    <prefix>/<unit>/state          latest verdict and status, JSON (retained)
    <prefix>/<unit>/event          one judged initiation or stride, JSON (QoS 1, not retained)
    <prefix>/<unit>/export/request a fleet tool asks for past events (see ``export_request``)

Every event carries a unique ``id``; consumers drop an event whose id they have seen (QoS 1 is
"at least once": a PUBACK lost with the connection means the event is sent again).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from appliance.numbers import json_safe

EVENT_SCHEMA = 1
STATE_FIELDS = ("light", "verdict", "kind", "reasons", "lean_deg", "cadence_spm", "hip_over_foot", "fps",
                "person_in_view", "recording", "updated_at")


def unit_slug(name: str) -> str:
    """A topic- and id-safe form of the unit's name: "Track 100 m / Start" → "track-100-m-start"."""
    slug = re.sub(r"[^a-z0-9_]+", "-", name.strip().lower()).strip("-")
    return slug or "leancam"


@dataclass(frozen=True)
class Topics:
    prefix: str
    unit: str  # the slug
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.unit}"

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def export_request(self) -> str:
        return f"{self.base}/export/request"


def iso_utc(wall_s: float) -> str:
    """Wall-clock seconds → ISO 8601 in UTC with milliseconds, e.g. 2026-11-25T14:03:07.125Z."""
    return dt.datetime.fromtimestamp(wall_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event_payload(*, event_id: str, unit: str, unit_name: str, session: int | None, seq: int, kind: str,
                  fields: dict[str, Any], capture_t_s: float, wall_s: float, run: int | None = None) -> dict[str, Any]:
    """One event: identity and timing, then the design §6 fields of the initiation or stride.

    ``capture_t_s``: capture time (pipeline clock, seconds) of the frame the verdict was decided on;
    the §6 times in ``fields`` (``t_s``, ``contact_t_s`` …) are on the same clock. ``wall_s``: when
    the unit decided it (Unix seconds; ``wall_time`` is the same in ISO 8601 UTC).
    """
    body = {"schema": EVENT_SCHEMA, "id": event_id, "unit": unit, "unit_name": unit_name, "session": session,
            "run": run, "seq": seq, "kind": kind, "capture_t_s": round(capture_t_s, 3),
            "wall_time": iso_utc(wall_s), "wall_time_s": round(wall_s, 3)}
    body.update({k: json_safe(v) for k, v in fields.items()})
    return body


def state_payload(*, unit: str, unit_name: str, light: str, verdict: Any, fps: float, person_in_view: bool,
                  recording: bool, wall_s: float) -> dict[str, Any]:
    """The retained state: what the LEDs show now and the latest judgement with its main metrics.

    ``verdict`` is a ``live_state.Verdict`` or None (nothing judged yet).
    """
    metrics = dict(getattr(verdict, "metrics", None) or {})
    return {"unit": unit, "unit_name": unit_name, "light": light,
            "verdict": getattr(verdict, "light", None), "kind": getattr(verdict, "kind", None),
            "reasons": list(getattr(verdict, "reasons", ()) or ()),
            "lean_deg": json_safe(metrics.get("lean_deg")), "cadence_spm": json_safe(metrics.get("cadence_spm")),
            "hip_over_foot": json_safe(metrics.get("hip_over_foot")), "fps": round(float(fps), 1),
            "person_in_view": bool(person_in_view), "recording": bool(recording), "updated_at": iso_utc(wall_s)}


def discovery_messages(topics: Topics, unit_name: str, sw_version: str) -> list[tuple[str, dict[str, Any]]]:
    """Home Assistant MQTT discovery: (config topic, payload) for lean-ok and three sensors.

    All read the retained state topic; HA marks them unavailable when availability says "offline".
    """
    if not topics.discovery_prefix:
        return []
    u, d = topics.unit, topics.discovery_prefix
    device = {"identifiers": [f"leancam_{u}"], "name": unit_name, "manufacturer": "LeanCam",
              "model": "LeanCam running-form unit", "sw_version": sw_version}
    common = {"state_topic": topics.state, "availability_topic": topics.availability,
              "payload_available": "online", "payload_not_available": "offline", "device": device}
    lean_ok = {**common, "name": "Lean OK", "unique_id": f"leancam_{u}_lean_ok", "object_id": f"{u}_lean_ok",
               # go → ON, no_go → OFF, anything else (unsure, nothing judged yet) → unknown.
               "value_template": "{% if value_json.verdict == 'go' %}ON{% elif value_json.verdict == 'no_go' %}"
                                 "OFF{% else %}None{% endif %}",
               "payload_on": "ON", "payload_off": "OFF", "icon": "mdi:run-fast"}
    sensors = {
        "cadence": {"name": "Cadence", "value_template": "{{ value_json.cadence_spm }}",
                    "unit_of_measurement": "steps/min", "icon": "mdi:shoe-print"},
        "lean": {"name": "Forward lean", "value_template": "{{ value_json.lean_deg }}",
                 "unit_of_measurement": "°", "icon": "mdi:angle-acute"},
        "hip_over_foot": {"name": "Hip over foot", "value_template": "{{ value_json.hip_over_foot }}",
                          "unit_of_measurement": "leg lengths", "icon": "mdi:human-handsdown"},
    }
    out: list[tuple[str, dict[str, Any]]] = [(f"{d}/binary_sensor/{u}/lean_ok/config", lean_ok)]
    for key, extra in sensors.items():
        out.append((f"{d}/sensor/{u}/{key}/config",
                    {**common, **extra, "unique_id": f"leancam_{u}_{key}", "object_id": f"{u}_{key}",
                     "state_class": "measurement"}))
    return out


def dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)
