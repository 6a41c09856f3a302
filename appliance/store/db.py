"""``Store``: the appliance's SQLite database (sessions, runs, strides, events, clips).

WAL journal with ``synchronous=NORMAL``: a power cut can lose the last few committed transactions
(the ones still only in the WAL) but never corrupts the database, and writers do not block the
web's readers. One writer ``Store`` per process, shared by its threads behind a lock; readers
(the web) open their own ``Store.open(..., readonly=True)``.

Every user-visible failure (unwritable state dir, corrupt or too-new database) is a
``LeanCamError`` with one clear line; ``sqlite3.OperationalError`` from a full disk is left to the
caller (the recorder turns it into its "disk full" state).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appliance.errors import LeanCamError
from appliance.numbers import finite_or_none
from appliance.store.records import VERDICTS, Clip, Event, Initiation, Run, Session, Stride
from appliance.store.schema import check_not_newer, current_version, migrate

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class OutboxRow:
    """One event waiting in (or delivered from) the MQTT outbox; ``id`` is the publish order."""

    id: int
    event_id: str
    topic: str
    payload: str  # the JSON text published, byte for byte
    session_id: int | None
    created_at_s: float
    delivered_at_s: float | None = None


def _verdict(value: str) -> str:
    if value not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {value!r}")
    return value


def _reasons(raw: str | None) -> tuple[str, ...]:
    return tuple(json.loads(raw or "[]"))


class Store:
    """Typed access to the database; open with ``Store.open(path)`` and close (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self._conn = conn
        self.path = path
        self.readonly = readonly
        # One connection shared by the pipeline and the recorder's finisher thread: sqlite3
        # connections are not safe for concurrent use, so every call takes this lock.
        self._lock = threading.RLock()

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, readonly: bool = False) -> Store:
        """Open (and, for a writer, create and migrate) the database at ``path``."""
        path = Path(path)
        conn: sqlite3.Connection | None = None
        try:
            if readonly:
                if not path.is_file():
                    raise LeanCamError(f"{path}: no database yet (start `leancam run` once)")
                conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                       timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            else:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as err:
                    raise LeanCamError(f"state dir {path.parent} cannot be created ({err.strerror or err}); "
                                       "fix its permissions or set LEANCAM_STATE_DIR") from err
                conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S,
                                       check_same_thread=False)
            store = cls(conn, path, readonly)
            store._configure()
        except BaseException as err:
            if conn is not None:
                conn.close()
            if isinstance(err, sqlite3.DatabaseError):
                raise LeanCamError(f"{path}: cannot open the database ({err}); check the state dir is "
                                   "writable and the file is a LeanCam database") from err
            raise
        return store

    def _configure(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if self.readonly:
            check_not_newer(current_version(conn), str(self.path))
            return
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise LeanCamError(f"{self.path}: the filesystem does not support SQLite's WAL mode (got {mode})")
        # NORMAL in WAL mode: commits are durable once the WAL is checkpointed; a power cut loses at
        # most the last transactions, never consistency (sqlite.org/pragma.html#pragma_synchronous).
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, str(self.path))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ---------------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT, rolled back on any error)."""
        if self.readonly:
            raise LeanCamError(f"{self.path}: opened read-only")
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            try:
                cur = self._conn.execute(sql, params)
            except OverflowError:
                # An id beyond SQLite's 64-bit integers (e.g. a URL /replay/run/99999999999999999999)
                # cannot match any row: the answer is "none", not an error.
                return []
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- sessions and runs -----------------------------------------------------------------------

    def add_session(self, session: Session) -> Session:
        with self._write() as c:
            cur = c.execute("INSERT INTO sessions (started_at_s, ended_at_s, source) VALUES (?, ?, ?)",
                            (session.started_at_s, session.ended_at_s, session.source))
        return replace(session, id=cur.lastrowid)

    def end_session(self, session_id: int, ended_at_s: float | None = None) -> None:
        with self._write() as c:
            c.execute("UPDATE sessions SET ended_at_s = ? WHERE id = ?",
                      (time.time() if ended_at_s is None else ended_at_s, session_id))

    def sessions(self) -> list[Session]:
        return [Session(r["started_at_s"], r["source"], r["ended_at_s"], r["id"])
                for r in self._rows("SELECT * FROM sessions ORDER BY id")]

    def add_run(self, run: Run) -> Run:
        ini = run.initiation
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO runs (session_id, started_at_s, start_t_s, end_t_s, trigger, direction, "
                "initiation_t_s, initiation_lean_deg, initiation_pelvis_offset, initiation_verdict, "
                "initiation_reasons) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.session_id, run.started_at_s, run.start_t_s, run.end_t_s, run.trigger, run.direction,
                 *self._initiation_cols(ini)))
        return replace(run, id=cur.lastrowid)

    @staticmethod
    def _initiation_cols(ini: Initiation | None) -> tuple[Any, ...]:
        if ini is None:
            return (None, None, None, None, "[]")
        return (ini.t_s, finite_or_none(ini.lean_deg), finite_or_none(ini.pelvis_offset), _verdict(ini.verdict),
                json.dumps(list(ini.reasons)))

    def set_initiation(self, run_id: int, initiation: Initiation) -> None:
        with self._write() as c:
            c.execute("UPDATE runs SET initiation_t_s = ?, initiation_lean_deg = ?, initiation_pelvis_offset = ?, "
                      "initiation_verdict = ?, initiation_reasons = ? WHERE id = ?",
                      (*self._initiation_cols(initiation), run_id))

    def end_run(self, run_id: int, end_t_s: float, direction: int | None = None) -> None:
        with self._write() as c:
            c.execute("UPDATE runs SET end_t_s = ?, direction = COALESCE(?, direction) WHERE id = ?",
                      (end_t_s, direction, run_id))

    @staticmethod
    def _run_from_row(r: dict[str, Any]) -> Run:
        ini = None
        if r["initiation_t_s"] is not None:
            ini = Initiation(r["initiation_t_s"], r["initiation_lean_deg"], r["initiation_pelvis_offset"],
                             r["initiation_verdict"] or "unsure", _reasons(r["initiation_reasons"]))
        return Run(r["session_id"], r["started_at_s"], r["start_t_s"], r["trigger"], r["end_t_s"],
                   r["direction"], ini, r["id"])

    def runs(self, session_id: int | None = None) -> list[Run]:
        if session_id is None:
            rows = self._rows("SELECT * FROM runs ORDER BY id")
        else:
            rows = self._rows("SELECT * FROM runs WHERE session_id = ? ORDER BY id", (session_id,))
        return [self._run_from_row(r) for r in rows]

    # -- strides and events ----------------------------------------------------------------------

    def add_stride(self, stride: Stride) -> Stride:
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO strides (run_id, foot, contact_t_s, midstance_t_s, toe_off_t_s, hip_over_foot, "
                "lean_deg, pelvis_offset, trunk_deg, cadence_spm, overstride, verdict, reasons) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (stride.run_id, stride.foot, stride.contact_t_s,
                 *(finite_or_none(v) for v in (stride.midstance_t_s, stride.toe_off_t_s, stride.hip_over_foot,
                                               stride.lean_deg, stride.pelvis_offset, stride.trunk_deg,
                                               stride.cadence_spm, stride.overstride)),
                 _verdict(stride.verdict), json.dumps(list(stride.reasons))))
        return replace(stride, id=cur.lastrowid)

    def strides(self, run_id: int) -> list[Stride]:
        rows = self._rows("SELECT * FROM strides WHERE run_id = ? ORDER BY contact_t_s, id", (run_id,))
        return [Stride(r["run_id"], r["foot"], r["contact_t_s"], r["midstance_t_s"], r["toe_off_t_s"],
                       r["hip_over_foot"], r["lean_deg"], r["pelvis_offset"], r["trunk_deg"], r["cadence_spm"],
                       r["overstride"], r["verdict"], _reasons(r["reasons"]), r["id"]) for r in rows]

    def add_event(self, event: Event) -> Event:
        with self._write() as c:
            cur = c.execute("INSERT INTO events (session_id, run_id, kind, t_s, detail) VALUES (?, ?, ?, ?, ?)",
                            (event.session_id, event.run_id, event.kind, event.t_s,
                             json.dumps(event.detail, allow_nan=False)))
        return replace(event, id=cur.lastrowid)

    def events(self, session_id: int, run_id: int | None = None) -> list[Event]:
        if run_id is None:
            rows = self._rows("SELECT * FROM events WHERE session_id = ? ORDER BY t_s, id", (session_id,))
        else:
            rows = self._rows("SELECT * FROM events WHERE run_id = ? ORDER BY t_s, id", (run_id,))
        return [Event(r["session_id"], r["kind"], r["t_s"], r["run_id"], json.loads(r["detail"]), r["id"])
                for r in rows]

    # -- clips -----------------------------------------------------------------------------------

    def add_clip(self, clip: Clip) -> Clip:
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO clips (name, video_file, sidecar_file, created_at_s, start_t_s, end_t_s, frames, "
                "width_px, height_px, size_bytes, trigger, run_id, session_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (clip.name, clip.video_file, clip.sidecar_file, clip.created_at_s, clip.start_t_s, clip.end_t_s,
                 clip.frames, clip.width_px, clip.height_px, clip.size_bytes, clip.trigger, clip.run_id,
                 clip.session_id))
        return replace(clip, id=cur.lastrowid)

    def delete_clip(self, clip_id: int) -> None:
        with self._write() as c:
            c.execute("DELETE FROM clips WHERE id = ?", (clip_id,))

    @staticmethod
    def _clip_from_row(r: dict[str, Any]) -> Clip:
        return Clip(r["name"], r["video_file"], r["sidecar_file"], r["created_at_s"], r["start_t_s"], r["end_t_s"],
                    r["frames"], r["width_px"], r["height_px"], r["size_bytes"], r["trigger"], r["run_id"],
                    r["session_id"], r["id"])

    def clips(self) -> list[Clip]:
        """All clips, oldest first (the order retention deletes them in)."""
        return [self._clip_from_row(r) for r in self._rows("SELECT * FROM clips ORDER BY created_at_s, id")]

    def clip(self, clip_id: int) -> Clip | None:
        rows = self._rows("SELECT * FROM clips WHERE id = ?", (clip_id,))
        return self._clip_from_row(rows[0]) if rows else None

    def clip_bytes_total(self) -> int:
        return int(self._rows("SELECT COALESCE(SUM(size_bytes), 0) AS n FROM clips")[0]["n"])

    # -- MQTT outbox (appliance/mqtt) ----------------------------------------------------------------

    def outbox_add(self, event_id: str, topic: str, payload: str, session_id: int | None,
                   created_at_s: float) -> int:
        """Queue one event (one small transaction: cheap enough for the pipeline thread); its row id."""
        with self._write() as c:
            cur = c.execute("INSERT INTO outbox (event_id, topic, payload, session_id, created_at_s) "
                            "VALUES (?, ?, ?, ?, ?)", (event_id, topic, payload, session_id, created_at_s))
        return int(cur.lastrowid or 0)

    @staticmethod
    def _outbox_row(r: dict[str, Any]) -> OutboxRow:
        return OutboxRow(r["id"], r["event_id"], r["topic"], r["payload"], r["session_id"], r["created_at_s"],
                         r["delivered_at_s"])

    def outbox_pending(self, after_id: int = 0, limit: int = 100) -> list[OutboxRow]:
        """Undelivered events with ``id > after_id``, oldest first."""
        rows = self._rows("SELECT * FROM outbox WHERE delivered_at_s IS NULL AND id > ? ORDER BY id LIMIT ?",
                          (after_id, limit))
        return [self._outbox_row(r) for r in rows]

    def outbox_pending_count(self) -> int:
        return int(self._rows("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at_s IS NULL")[0]["n"])

    def outbox_mark_delivered(self, ids: Sequence[int], delivered_at_s: float | None = None) -> None:
        if not ids:
            return
        at = time.time() if delivered_at_s is None else delivered_at_s
        with self._write() as c:
            c.executemany("UPDATE outbox SET delivered_at_s = ? WHERE id = ? AND delivered_at_s IS NULL",
                          [(at, i) for i in ids])

    def outbox_drop_oldest_pending(self, keep: int) -> int:
        """Delete the oldest undelivered events beyond the newest ``keep``; the number deleted."""
        with self._write() as c:
            cur = c.execute("DELETE FROM outbox WHERE delivered_at_s IS NULL AND id NOT IN "
                            "(SELECT id FROM outbox WHERE delivered_at_s IS NULL ORDER BY id DESC LIMIT ?)", (keep,))
        return cur.rowcount

    def outbox_prune_delivered(self, before_s: float) -> int:
        """Delete delivered events created before ``before_s`` (wall clock); the number deleted."""
        with self._write() as c:
            cur = c.execute("DELETE FROM outbox WHERE delivered_at_s IS NOT NULL AND created_at_s < ?", (before_s,))
        return cur.rowcount

    def outbox_events(self, since_s: float | None = None, until_s: float | None = None,
                      session_id: int | None = None, limit: int = 100_000) -> list[OutboxRow]:
        """Events (delivered or not) by creation time and/or session, oldest first: the export's source."""
        where, params = ["1"], []
        if since_s is not None:
            where.append("created_at_s >= ?")
            params.append(since_s)
        if until_s is not None:
            where.append("created_at_s < ?")
            params.append(until_s)
        if session_id is not None:
            where.append("session_id = ?")
            params.append(session_id)
        rows = self._rows(f"SELECT * FROM outbox WHERE {' AND '.join(where)} ORDER BY id LIMIT ?", (*params, limit))
        return [self._outbox_row(r) for r in rows]

    def outbox_last_session(self) -> int | None:
        rows = self._rows("SELECT MAX(session_id) AS s FROM outbox")
        return rows[0]["s"] if rows else None

    # -- health ----------------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._lock:
            return current_version(self._conn)

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database, else SQLite's findings."""
        rows = self._rows("PRAGMA integrity_check")
        return "; ".join(str(next(iter(r.values()))) for r in rows)
