"""``MqttSink``: the unit's verdicts to an MQTT broker, through a persistent outbox.

Threads and who does what:

- the **pipeline thread** calls ``on_update`` per frame. A judged initiation or stride becomes an
  event row in the SQLite outbox (one small WAL transaction, no network) and the publisher is
  woken; the live state is only handed over by reference. Nothing here waits on the broker.
- the **publisher thread** sends outbox rows in id order with QoS 1 (at most ``INFLIGHT`` unacked
  at once), publishes the retained state when it changed (and every ``STATE_EVERY_S``), answers
  export requests, marks rows delivered when their PUBACK arrives, and prunes the outbox.
- **paho's network thread** (``loop_start``) connects, reconnects with backoff, and re-sends
  unacknowledged QoS 1 messages after a reconnect; its callbacks only record what happened.

Delivery is at least once: an event whose PUBACK was lost with the connection is sent again (by
paho after the reconnect, or from the outbox after a restart or kill -9). Consumers drop repeats by
the event's ``id``. Order: rows go out in outbox order; paho re-sends its in-flight ones first.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import sqlite3
import ssl
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from appliance import __version__
from appliance.config import MqttConfig
from appliance.mqtt.topics import Topics, discovery_messages, dumps, event_payload, state_payload, unit_slug
from appliance.store import Store

log = logging.getLogger(__name__)

INFLIGHT = 20  # unacked QoS 1 events at once (paho's own default window)
STATE_EVERY_S = 10.0  # the retained state is refreshed at least this often (fps, updated_at)
PRUNE_EVERY_S = 600.0
EXPORT_CHUNK = 200  # events per export reply message
AUTH_CODES = {"Bad user name or password", "Not authorized"}


def make_client(client_id: str, username: str = "", password: str = "", tls: bool = False, ca_file: str = "",
                reconnect_min_s: float = 1.0, reconnect_max_s: float = 30.0) -> mqtt.Client:
    """A paho client with the login and TLS of the config (also used by ``leancam fleet``)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    if username:
        client.username_pw_set(username, password or None)
    if tls:
        client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=max(1, round(reconnect_min_s)), max_delay=max(1, round(reconnect_max_s)))
    return client


class MqttSink:
    """Publishes one unit's events (via the outbox), state, availability and HA discovery."""

    def __init__(self, config: MqttConfig, unit_name: str, store: Store, session_id: int | None = None,
                 reconnect_max_s: float = 30.0) -> None:
        self.config = config
        self.unit_name = unit_name
        self.unit = unit_slug(unit_name)
        self.topics = Topics(config.topic_prefix, self.unit, config.discovery_prefix)
        self.store = store
        self.session_id = session_id
        self.client = make_client(f"leancam-{self.unit}", config.username, config.password, config.tls,
                                  config.ca_file, reconnect_max_s=reconnect_max_s)
        self.client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = threading.Event()
        self._fresh_connection = False  # set by on_connect: (re)announce availability, discovery, state
        self._last_problem: str | None = None
        # mid → outbox row id for events paho holds unacked; only the publisher thread touches it.
        self._inflight: dict[int, int] = {}
        self._acked: collections.deque[int] = collections.deque()  # mids, appended by paho's thread
        self._last_queued_id = 0  # highest outbox id handed to paho in this process
        self._requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=16)
        self._seq = 0
        self._db_failed = False
        self._pending = 0
        self._latest: tuple[Any, str, bool] | None = None  # (LiveState, light now, recording)
        self._state_key: tuple[Any, ...] | None = None
        self._state_sent_mono_s = 0.0
        self._pruned_mono_s = 0.0
        # Counters for tests, `leancam doctor`-style checks and the log.
        self.events_queued = 0
        self.events_delivered = 0
        self.events_dropped = 0

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (an unreachable broker is retried, never raised) and start publishing."""
        cfg = self.config
        try:
            self._pending = self.store.outbox_pending_count()
        except sqlite3.Error as err:
            log.warning("MQTT outbox unreadable (%s); events are published only while the broker is up", err)
        if self._pending:
            log.info("MQTT outbox: %d events from earlier wait to be delivered", self._pending)
        self.client.connect_async(cfg.host, cfg.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._publisher, name="mqtt-publisher", daemon=True)
        self._thread.start()
        log.info("MQTT: publishing as %s to %s:%d%s", self.topics.base, cfg.host, cfg.port, " (TLS)" if cfg.tls else "")

    def close(self, drain_s: float = 2.0) -> None:
        """Give in-flight events ``drain_s`` to be acknowledged, say "offline", disconnect.

        Whatever is not acknowledged stays in the outbox for the next start.
        """
        deadline = time.monotonic() + drain_s
        while self._connected.is_set() and time.monotonic() < deadline and (self._inflight or self._has_unsent()):
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._mark_acked()
        if self._connected.is_set():
            info = self.client.publish(self.topics.availability, "offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # not sent in time: the will says it
                info.wait_for_publish(timeout=1.0)
        self.client.disconnect()
        self.client.loop_stop()
        log.info("MQTT: closed (%d events queued, %d delivered, %d still in the outbox)",
                 self.events_queued, self.events_delivered, self._pending)

    def _has_unsent(self) -> bool:
        try:
            return bool(self.store.outbox_pending(self._last_queued_id, 1))
        except sqlite3.Error:
            return False

    # -- pipeline thread -------------------------------------------------------------------------

    def on_update(self, t_s: float, update: Any, state: Any = None, light: str = "", recording: bool = False,
                  run_id: int | None = None) -> None:
        """One frame's analysis ``Update`` and the state just published to the live slot.

        Writes judged initiations/strides to the outbox; never touches the network.
        """
        start = getattr(update, "start", None)
        strides = getattr(update, "strides", ()) or ()
        if start is not None:
            self._queue("initiation", start.to_json(), t_s, run_id)
        for stride in strides:
            self._queue("stride", stride.to_json(), t_s, run_id)
        if state is not None:
            self._latest = (state, light, recording)
            verdict = getattr(state, "verdict", None)
            key = (id(verdict), light, bool(getattr(state, "person_in_view", False)), recording)
            if key != self._state_key:
                self._wake.set()

    def start_session(self, session_id: int | None) -> None:
        """Events from now on belong to ``session_id``; ``seq`` counts from 1 again (docs/fleet.md:
        1, 2, … within the session). Pipeline thread, like ``on_update``."""
        self.session_id = session_id
        self._seq = 0

    def _queue(self, kind: str, fields: dict[str, Any], t_s: float, run_id: int | None) -> None:
        self._seq += 1
        wall = time.time()
        event_id = str(uuid.uuid4())
        payload = event_payload(event_id=event_id, unit=self.unit, unit_name=self.unit_name, session=self.session_id,
                                seq=self._seq, kind=kind, fields=fields, capture_t_s=t_s, wall_s=wall, run=run_id)
        try:
            self.store.outbox_add(event_id, self.topics.event, dumps(payload), self.session_id, wall)
            self._pending += 1
            if self._pending > self.config.max_pending_events:
                dropped = self.store.outbox_drop_oldest_pending(self.config.max_pending_events)
                self._pending -= dropped
                self.events_dropped += dropped
                log.warning("MQTT outbox full (%d undelivered events): dropped the %d oldest",
                            self.config.max_pending_events, dropped)
        except sqlite3.Error as err:
            if not self._db_failed:
                log.warning("MQTT outbox write failed (%s); events are lost until the database works again", err)
            self._db_failed = True
            return
        self._db_failed = False
        self.events_queued += 1
        self._wake.set()

    # -- paho's network thread -------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._problem(f"MQTT broker {self.config.host}:{self.config.port} refused the connection: {reason}"
                          + ("; check [mqtt] username and LEANCAM_MQTT_PASSWORD" if str(reason) in AUTH_CODES
                             else "") + " (retrying)")
            return
        if self._last_problem is not None:
            log.info("MQTT: connected to %s:%d again", self.config.host, self.config.port)
        else:
            log.info("MQTT: connected to %s:%d", self.config.host, self.config.port)
        self._last_problem = None
        client.subscribe(self.topics.export_request, qos=1)
        self._fresh_connection = True
        self._connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stop.is_set():
            self._problem(f"MQTT: lost the broker {self.config.host}:{self.config.port} ({reason}); events wait "
                          "in the outbox, reconnecting")

    def _problem(self, message: str) -> None:
        """Log a connection problem once (then at debug level until it changes or clears)."""
        if message != self._last_problem:
            log.warning("%s", message)
            self._last_problem = message
        else:
            log.debug("%s", message)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        # Runs under paho's message lock: only record the mid (the publisher thread resolves it).
        self._acked.append(mid)
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            request = json.loads(msg.payload)
            if not isinstance(request, dict) or not isinstance(request.get("reply_to"), str):
                raise ValueError("no reply_to")
        except ValueError as err:
            log.warning("MQTT: ignored a malformed export request on %s (%s)", msg.topic, err)
            return
        self._requests.append(request)
        self._wake.set()

    # -- publisher thread ------------------------------------------------------------------------

    def _publisher(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self._mark_acked()
                if self._connected.is_set():
                    if self._fresh_connection:
                        self._fresh_connection = False
                        self._announce()
                    self._send_events()
                    self._send_state()
                    while self._requests:
                        self._answer_export(self._requests.popleft())
                self._prune()
            except sqlite3.Error as err:
                log.warning("MQTT outbox: database error (%s); retrying", err)
                self._stop.wait(1.0)
            except Exception:  # the publisher must outlive any surprise: feedback and recording go on
                log.exception("MQTT publisher error; retrying")
                self._stop.wait(1.0)

    def _announce(self) -> None:
        self.client.publish(self.topics.availability, "online", qos=1, retain=True)
        for topic, payload in discovery_messages(self.topics, self.unit_name, __version__):
            self.client.publish(topic, dumps(payload), qos=1, retain=True)
        self._state_key = None  # publish the state again now

    def _send_events(self) -> None:
        room = INFLIGHT - len(self._inflight)
        if room <= 0:
            return
        for row in self.store.outbox_pending(self._last_queued_id, room):
            info = self.client.publish(row.topic, row.payload, qos=1)
            if info.rc == mqtt.MQTT_ERR_NO_CONN:
                # Dropped between the check and the publish: paho keeps the message and sends it on
                # reconnect, so it counts as in flight like the others.
                log.debug("MQTT: event %s queued by paho while disconnected", row.event_id)
            self._inflight[info.mid] = row.id
            self._last_queued_id = row.id

    def _mark_acked(self) -> None:
        ids = []
        while self._acked:
            row_id = self._inflight.pop(self._acked.popleft(), None)
            if row_id is not None:  # None: an ack of a state/discovery/export message
                ids.append(row_id)
        if ids:
            self.store.outbox_mark_delivered(ids)
            self.events_delivered += len(ids)
            self._pending = max(0, self._pending - len(ids))

    def _send_state(self) -> None:
        if self._latest is None:
            return
        state, light, recording = self._latest
        verdict = getattr(state, "verdict", None)
        key = (id(verdict), light, bool(state.person_in_view), recording)
        now = time.monotonic()
        if key == self._state_key and now - self._state_sent_mono_s < STATE_EVERY_S:
            return
        payload = state_payload(unit=self.unit, unit_name=self.unit_name, light=light, verdict=verdict,
                                fps=state.fps, person_in_view=state.person_in_view, recording=recording,
                                wall_s=time.time())
        self.client.publish(self.topics.state, dumps(payload), qos=1, retain=True)
        self._state_key = key
        self._state_sent_mono_s = now

    def _answer_export(self, request: dict[str, Any]) -> None:
        """Reply with the outbox's events (delivered or not) matching the request, in chunks, then done."""
        session = request.get("session")
        if session == "latest":
            session = self.store.outbox_last_session()
        since, until = request.get("since_s"), request.get("until_s")
        rows = self.store.outbox_events(since_s=since if isinstance(since, int | float) else None,
                                        until_s=until if isinstance(until, int | float) else None,
                                        session_id=session if isinstance(session, int) else None)
        reply, rid = request["reply_to"], request.get("request")
        events = [json.loads(r.payload) for r in rows]
        for i in range(0, len(events), EXPORT_CHUNK):
            self.client.publish(reply, dumps({"request": rid, "unit": self.unit, "events": events[i:i + EXPORT_CHUNK],
                                              "done": False}), qos=1)
        self.client.publish(reply, dumps({"request": rid, "unit": self.unit, "events": [], "done": True,
                                          "count": len(events)}), qos=1)
        log.info("MQTT: export request answered with %d events", len(events))

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_mono_s < PRUNE_EVERY_S:
            return
        self._pruned_mono_s = now
        gone = self.store.outbox_prune_delivered(time.time() - self.config.keep_delivered_days * 86400)
        if gone:
            log.info("MQTT outbox: removed %d delivered events older than %g days", gone,
                     self.config.keep_delivered_days)
