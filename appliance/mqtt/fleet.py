"""The fleet's side of MQTT: a client that watches every unit on a broker and asks them for exports.

``leancam fleet`` shows its table and writes its CSV; ``leancam doctor`` uses the same client to
prove the unit's own broker settings work (one login, then it disconnects). The unit's publishing
side is ``mqtt.sink``; the topics both agree on are ``mqtt.topics``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from appliance.errors import BadInputError, LeanCamError
from appliance.mqtt.sink import AUTH_CODES, make_client
from appliance.mqtt.topics import dumps

log = logging.getLogger(__name__)


class AuthError(BadInputError):
    """The broker refused the login (exit code 2)."""


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
    tls: bool


def parse_broker(url: str, tls: bool = False) -> Broker:
    if "://" not in url:
        url = f"mqtt://{url}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise BadInputError(f"--broker {url!r}: expected mqtt://host[:port] or mqtts://host[:port]")
    tls = tls or parts.scheme in ("mqtts", "ssl")
    try:
        port = parts.port or (8883 if tls else 1883)
    except ValueError as err:
        raise BadInputError(f"--broker {url!r}: bad port") from err
    return Broker(parts.hostname, port, tls)


@dataclass
class UnitView:
    slug: str
    availability: str = "?"
    state: dict[str, Any] = field(default_factory=dict)


class FleetClient:
    """A connected subscriber: unit table from retained topics, export requests and replies."""

    def __init__(self, broker: Broker, username: str, password: str, ca_file: str, prefix: str) -> None:
        self.broker = broker
        self.prefix = prefix
        self.units: dict[str, UnitView] = {}
        self.lock = threading.Lock()
        self._connected = threading.Event()
        self._refused: str | None = None
        self.reply_topic = f"{prefix}/_fleet/{uuid.uuid4().hex[:12]}/export"
        self.replies: dict[str, dict[str, Any]] = {}  # unit → {"events": [...], "done": bool}
        self.client = make_client(f"leancam-fleet-{uuid.uuid4().hex[:8]}", username, password, broker.tls, ca_file)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def connect(self, timeout_s: float = 10.0) -> None:
        where = f"{self.broker.host}:{self.broker.port}"
        try:
            self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        except OSError as err:
            raise LeanCamError(f"cannot reach the MQTT broker {where} ({err.strerror or err})") from err
        self.client.loop_start()
        deadline = time.monotonic() + timeout_s
        while not self._connected.is_set() and self._refused is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._refused is not None:
            self.close()
            if self._refused in AUTH_CODES:
                raise AuthError(f"the MQTT broker {where} refused the login ({self._refused}): check --username "
                                "and the password")
            raise LeanCamError(f"the MQTT broker {where} refused the connection ({self._refused})")
        if not self._connected.is_set():
            self.close()
            raise LeanCamError(f"no answer from the MQTT broker {where} within {timeout_s:g} s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            client.disconnect()  # no retries: a person is waiting for an answer
            return
        client.subscribe([(f"{self.prefix}/+/state", 1), (f"{self.prefix}/+/availability", 1),
                          (self.reply_topic, 1)])
        self._connected.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.reply_topic:
            self._on_reply(msg.payload)
            return
        parts = msg.topic.split("/")
        if len(parts) < 2:
            return
        slug, leaf = parts[-2], parts[-1]
        with self.lock:
            view = self.units.setdefault(slug, UnitView(slug))
            if leaf == "availability":
                view.availability = msg.payload.decode(errors="replace") or "?"
            elif leaf == "state":
                try:
                    state = json.loads(msg.payload)
                except ValueError:
                    log.warning("unit %s: state is not JSON", slug)
                    return
                if isinstance(state, dict):
                    view.state = state

    def _on_reply(self, payload: bytes) -> None:
        try:
            reply = json.loads(payload)
        except ValueError:
            return
        if not isinstance(reply, dict) or "unit" not in reply:
            return
        with self.lock:
            got = self.replies.setdefault(str(reply["unit"]), {"events": [], "done": False})
            got["events"].extend(e for e in reply.get("events", []) if isinstance(e, dict))
            if reply.get("done"):
                got["done"] = True

    def request_export(self, unit: str, request: dict[str, Any]) -> None:
        self.client.publish(f"{self.prefix}/{unit}/export/request",
                            dumps({**request, "reply_to": self.reply_topic}), qos=1)

    def snapshot(self) -> list[UnitView]:
        with self.lock:
            return [UnitView(u.slug, u.availability, dict(u.state)) for _, u in sorted(self.units.items())]
