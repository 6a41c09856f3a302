"""Serve the web app with waitress in a background thread; ``start_web(...).stop()`` ends it.

Streaming responses (MJPEG, SSE) each hold one waitress worker thread while a client watches, so
the pool is sized for a few viewers. ``stop()`` first sets the app's stop event, which ends every
stream within half a second, then shuts the workers and sockets down.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import Flask
from waitress import create_server
from waitress.server import BaseWSGIServer, MultiSocketServer

from appliance.web.streams import stop_event

log = logging.getLogger(__name__)

DEFAULT_THREADS = 16  # 4 MJPEG + 8 SSE viewers at most (WebDeps), 4 left for pages and uploads


@dataclass
class WebServer:
    """A running waitress server; ``url`` is where it listens."""

    app: Flask
    server: BaseWSGIServer | MultiSocketServer
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def stop(self, timeout_s: float = 5.0) -> None:
        stop_event(self.app).set()
        self.server.task_dispatcher.shutdown(timeout=timeout_s)
        from waitress import wasyncore

        sockets = getattr(self.server, "_map", None)
        if sockets is None:
            sockets = self.server.map  # several listen addresses: one map for all

        def close_all() -> None:
            wasyncore.close_all(sockets)

        # Closed in the server's own thread, through its wake-up pipe: sockets closed from here
        # while its select() waits on them raise EBADF in that thread (a traceback at a stop).
        trigger = getattr(self.server, "trigger", None)
        if trigger is not None and self.thread.is_alive():
            try:
                trigger.pull_trigger(close_all)
            except OSError as err:
                # Waitress queues the call, then writes to the pipe; a worker waking the loop in
                # between has it run close_all, which closes the pipe before the write (EBADF).
                log.debug("web server's wake-up pipe closed before the write (%s)", err)
            self.thread.join(timeout=timeout_s)
        if self.thread.is_alive() or sockets:
            close_all()
            self.thread.join(timeout=timeout_s)
        log.info("web server on %s stopped", self.url)


def start_web(app: Flask, host: str = "0.0.0.0", port: int = 8080, threads: int = DEFAULT_THREADS) -> WebServer:
    """Start serving ``app`` on ``host:port`` (port 0 picks a free one) in a daemon thread."""
    stop_event(app).clear()
    # Waitress buffers a request body before the app sees it; let uploads up to the app's own limit
    # through so the app can answer an oversized one with its clear message.
    max_body = max(1 << 30, int(app.config.get("MAX_CONTENT_LENGTH") or 0) + (1 << 20))
    server = create_server(app, host=host, port=port, threads=threads, ident="leancam",
                           channel_timeout=30, connection_limit=64, max_request_body_size=max_body)
    effective_port = int(getattr(server, "effective_port", port))
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    handle = WebServer(app, server, thread, host, effective_port)
    log.info("web display on %s", handle.url)
    return handle
