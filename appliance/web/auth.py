"""Settings password (scrypt hash in the state dir), login sessions and a login rate limiter.

Only the settings pages need a login; live and replay are read-only for anyone on the LAN.

The password is set at setup with ``leancam web --set-password`` and stored as werkzeug's
``scrypt`` hash in ``STATE_DIR/web_password`` (mode 0600). Without a password the settings
pages stay locked and say how to set one.

Rate limit: at most ``attempts_per_minute`` login attempts per client address in any sliding
60 s window (in memory, per process; a restart forgets). Further attempts get 429 with
``Retry-After``, whether or not the password would have been right, so guessing costs a minute per
handful of tries.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from appliance.store.files import atomic_write

log = logging.getLogger(__name__)

PASSWORD_FILE = "web_password"
MIN_PASSWORD_LEN = 8


def password_path(state_dir: Path) -> Path:
    return Path(state_dir) / PASSWORD_FILE


def set_password(state_dir: Path, password: str) -> Path:
    """Store ``password`` as a scrypt hash (file mode 0600); raises ValueError if too short."""
    if len(password) < MIN_PASSWORD_LEN:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LEN} characters")
    path = password_path(state_dir)
    atomic_write(path, generate_password_hash(password, method="scrypt") + "\n", mode=0o600)
    return path


def password_is_set(state_dir: Path) -> bool:
    return password_path(state_dir).is_file()


def check_password(state_dir: Path, password: str) -> bool:
    try:
        stored = password_path(state_dir).read_text().strip()
    except FileNotFoundError:
        return False
    return bool(stored) and check_password_hash(stored, password)


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in any ``window_s`` seconds (thread-safe, in memory)."""

    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Record a hit; returns 0 if allowed, else the seconds until the next hit is allowed."""
        now = self._clock()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and now - q[0] >= self.window_s:
                q.popleft()
            if len(q) >= self.limit:
                return self.window_s - (now - q[0])
            q.append(now)
            if len(self._hits) > 10_000:  # bound memory: forget idle clients
                for k in [k for k, v in self._hits.items() if not v or now - v[-1] >= self.window_s]:
                    del self._hits[k]
            return 0.0

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


def init_app(app: Flask, attempts_per_minute: int) -> None:
    app.extensions["leancam_login_limiter"] = SlidingWindowLimiter(attempts_per_minute, 60.0)


def limiter(app: Flask) -> SlidingWindowLimiter:
    return app.extensions["leancam_login_limiter"]


def is_logged_in() -> bool:
    return bool(session.get("settings_auth"))


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not is_logged_in():
            return redirect(url_for("settings.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped
