"""A throw-away local mosquitto: what the tests (and a developer without a broker) run against.

``LocalMosquitto(workdir).start()`` writes a minimal ``mosquitto.conf`` (loopback only, a free
port, optional password file) and starts Debian's ``/usr/sbin/mosquitto`` with it; ``stop()`` and
``start()`` again keep the port, so clients see the same broker go away and come back.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from appliance.errors import LeanCamError

log = logging.getLogger(__name__)

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mosquitto_available() -> bool:
    return Path(MOSQUITTO).is_file() and shutil.which("mosquitto_passwd") is not None


class LocalMosquitto:
    def __init__(self, workdir: Path, users: dict[str, str] | None = None, port: int | None = None,
                 persistence: bool = False, tls_cert_key: tuple[Path, Path] | None = None) -> None:
        self.workdir = Path(workdir)
        self.port = port or free_port()
        self.users = users or {}
        # With persistence, retained messages and persistent sessions (clean_session=False clients'
        # subscriptions and queued QoS 1 messages) survive stop() / start(), as on a real broker.
        self.persistence = persistence
        self.tls_cert_key = tls_cert_key  # (certfile, keyfile): the listener speaks TLS only
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_conf(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [f"listener {self.port} 127.0.0.1", f"log_dest file {self.log_path}",
                 "log_type error", "log_type warning", "log_type notice"]
        if self.tls_cert_key is not None:
            cert, key = self.tls_cert_key
            lines += [f"certfile {cert}", f"keyfile {key}"]
        if os.geteuid() == 0:
            # As root mosquitto switches to its own user, who cannot read a test's private temp dir.
            lines.append("user root")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/"]
        else:
            lines.append("persistence false")
        if self.users:
            pw = self.workdir / "passwd"
            pw.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True,
                               capture_output=True)
            pw.chmod(0o600)
            lines += ["allow_anonymous false", f"password_file {pw}"]
        else:
            lines.append("allow_anonymous true")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self, timeout_s: float = 10.0) -> LocalMosquitto:
        if not mosquitto_available():
            raise LeanCamError(f"{MOSQUITTO} not installed (apt-get install mosquitto)")
        conf = self._write_conf()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise LeanCamError(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise LeanCamError(f"mosquitto did not listen on port {self.port} within {timeout_s:g} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> LocalMosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Recorder:
    """A subscriber that keeps every message it gets (topic, payload text, retain flag), in order.

    ``persistent=True`` uses a persistent session (clean_session=False, fixed client id): with a
    persistent broker, QoS 1 messages published while this subscriber was away are queued for it —
    the way Home Assistant or a logger should subscribe to events.
    """

    def __init__(self, port: int, topics: list[str], client_id: str = "", persistent: bool = False,
                 username: str = "", password: str = "") -> None:
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.messages: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self.topics = topics
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in self.topics])
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: object, userdata: object, msg: object) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain)))  # type: ignore[attr-defined]

    def on(self, suffix: str) -> list[tuple[str, str, bool]]:
        with self._lock:
            return [m for m in self.messages if m[0].endswith(suffix)]

    def wait_for(self, predicate: object, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def make_test_ca(workdir: Path, host: str = "127.0.0.1") -> tuple[Path, Path, Path]:
    """A throw-away CA and a server certificate for ``host`` (openssl CLI): (ca.crt, server.crt, server.key)."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (workdir / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    san = workdir / "san.ext"
    san.write_text(f"subjectAltName=IP:{host}\n" if host.replace(".", "").isdigit() else f"subjectAltName=DNS:{host}\n")

    def ssl_cmd(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ssl_cmd("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=LeanCam test CA",
            "-keyout", str(ca_key), "-out", str(ca))
    ssl_cmd("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}", "-keyout", str(key), "-out", str(csr))
    ssl_cmd("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
            "-extfile", str(san), "-out", str(cert))
    return ca, cert, key
