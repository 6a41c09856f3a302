"""The database schema as an ordered list of migrations, and the code that applies them.

Each migration is a tuple of SQL statements applied in one transaction together with its row in
``schema_version``, so a crash (or kill -9) half-way through leaves the previous version intact:
SQLite's DDL is transactional. Migrations are only ever appended; a released one is never edited.
A database written by a newer LeanCam (higher version than ``LATEST_VERSION``) is refused rather
than guessed at.
"""

from __future__ import annotations

import logging
import sqlite3
import time

from appliance.errors import LeanCamError

log = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at_s REAL NOT NULL,
            ended_at_s REAL,
            source TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            started_at_s REAL NOT NULL,
            start_t_s REAL NOT NULL,
            end_t_s REAL,
            trigger TEXT NOT NULL,
            direction INTEGER CHECK (direction IN (-1, 1)),
            initiation_t_s REAL,
            initiation_lean_deg REAL,
            initiation_pelvis_offset REAL,
            initiation_verdict TEXT CHECK (initiation_verdict IN ('go', 'no_go', 'unsure')),
            initiation_reasons TEXT NOT NULL DEFAULT '[]'
        )""",
        """CREATE TABLE strides (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            foot TEXT NOT NULL,
            contact_t_s REAL NOT NULL,
            midstance_t_s REAL,
            toe_off_t_s REAL,
            hip_over_foot REAL,
            lean_deg REAL,
            pelvis_offset REAL,
            trunk_deg REAL,
            cadence_spm REAL,
            overstride REAL,
            verdict TEXT NOT NULL CHECK (verdict IN ('go', 'no_go', 'unsure')),
            reasons TEXT NOT NULL DEFAULT '[]'
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            t_s REAL NOT NULL,
            detail TEXT NOT NULL DEFAULT '{}'
        )""",
        """CREATE TABLE clips (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            video_file TEXT NOT NULL UNIQUE,
            sidecar_file TEXT NOT NULL,
            created_at_s REAL NOT NULL,
            start_t_s REAL NOT NULL,
            end_t_s REAL NOT NULL,
            frames INTEGER NOT NULL,
            width_px INTEGER NOT NULL,
            height_px INTEGER NOT NULL,
            size_bytes INTEGER NOT NULL,
            trigger TEXT NOT NULL,
            run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
            session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL
        )""",
    )),
    # Version 2: the lookups the web and retention do (clips oldest first, a run's strides/events).
    (2, (
        "CREATE INDEX clips_by_age ON clips(created_at_s)",
        "CREATE INDEX strides_by_run ON strides(run_id, contact_t_s)",
        "CREATE INDEX events_by_run ON events(run_id, t_s)",
        "CREATE INDEX runs_by_session ON runs(session_id, start_t_s)",
    )),
    # Version 3: the MQTT outbox (appliance/mqtt). Every event is written here before it is sent;
    # id = publish order, delivered_at_s set on the broker's PUBACK. No foreign keys: an event
    # outlives nothing it points at, and retention of sessions must not wait for a broker.
    (3, (
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            payload TEXT NOT NULL,
            session_id INTEGER,
            created_at_s REAL NOT NULL,
            delivered_at_s REAL
        )""",
        "CREATE INDEX outbox_pending ON outbox(id) WHERE delivered_at_s IS NULL",
        "CREATE INDEX outbox_by_time ON outbox(created_at_s)",
    )),
)

LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open database (0 for a new, empty one)."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not has_table:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def check_not_newer(version: int, where: str) -> None:
    if version > LATEST_VERSION:
        raise LeanCamError(f"{where}: database schema v{version} is newer than this LeanCam "
                           f"(knows up to v{LATEST_VERSION}); upgrade LeanCam or use another state dir")


def migrate(conn: sqlite3.Connection, where: str = "database") -> int:
    """Bring the database to ``LATEST_VERSION``; returns the number of migrations applied.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so the explicit transactions
    here are the only ones. ``BEGIN IMMEDIATE`` takes the write lock before the version is read,
    so two processes starting at once cannot both apply the same migration.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                 "version INTEGER PRIMARY KEY, applied_at_s REAL NOT NULL)")
    applied = 0
    for version, statements in MIGRATIONS:
        conn.execute("BEGIN IMMEDIATE")
        try:
            have = current_version(conn)
            check_not_newer(have, where)
            if have >= version:
                conn.execute("COMMIT")
                continue
            for sql in statements:
                conn.execute(sql)
            conn.execute("INSERT INTO schema_version (version, applied_at_s) VALUES (?, ?)",
                         (version, time.time()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied += 1
        log.info("%s: migrated schema to v%d", where, version)
    return applied
