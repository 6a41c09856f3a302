"""systemd readiness and watchdog notifications (sd_notify), silent when not run by systemd.

The unit is ``Type=notify`` with ``WatchdogSec``: READY=1 is sent once the first frame has been
processed, and WATCHDOG=1 from the pipeline loop, so a hung loop (not just a dead process) gets
restarted.
"""

from __future__ import annotations

import logging
import os
import time

import sdnotify

log = logging.getLogger(__name__)


class ServiceNotifier:
    """Rate-limited sd_notify client; all calls are no-ops outside systemd."""

    def __init__(self, min_interval_s: float = 1.0) -> None:
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None
        self._min_interval_s = min_interval_s
        self._last_watchdog = 0.0
        self._ready = False

    def _send(self, message: str) -> None:
        if self._notifier is not None:
            self._notifier.notify(message)

    def ready(self, status: str = "running") -> None:
        if not self._ready:
            self._ready = True
            self._send(f"READY=1\nSTATUS={status}")
            log.debug("notified systemd: ready")

    def heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_watchdog >= self._min_interval_s:
            self._last_watchdog = now
            self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def stopping(self) -> None:
        self._send("STOPPING=1")
