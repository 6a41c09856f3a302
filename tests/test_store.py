"""The SQLite store: WAL settings, migrations, typed round trips, readers, bad database files."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.errors import LeanCamError
from appliance.store import LATEST_VERSION, MIGRATIONS, Clip, Event, Initiation, Run, Session, Store, Stride
from appliance.store.schema import migrate


def _clip(name: str, created: float, size: int = 1000, run_id: int | None = None) -> Clip:
    return Clip(name, f"{name}.mp4", f"{name}.json", created, 1.0, 3.5, 75, 320, 180, size, "initiation", run_id)


def test_new_database_is_wal_normal_and_at_latest_version(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db" / "leancam.db") as store:
        assert store.schema_version() == LATEST_VERSION == MIGRATIONS[-1][0]
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"schema_version", "sessions", "runs", "strides", "events", "clips"} <= tables
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == [v for v, _ in MIGRATIONS]
    with Store.open(tmp_path / "db" / "leancam.db") as store:  # reopening applies nothing
        assert migrate(store._conn) == 0


def test_migrations_apply_in_order_to_an_old_database_and_keep_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at_s REAL NOT NULL)")
    for sql in MIGRATIONS[0][1]:  # a database written by the v1 code
        conn.execute(sql)
    conn.execute("INSERT INTO schema_version VALUES (1, 0)")
    conn.execute("INSERT INTO sessions (started_at_s, source) VALUES (1.0, 'v1')")
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert [s.source for s in store.sessions()] == ["v1"]
        indexes = {r[0] for r in store._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "clips_by_age" in indexes


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.store import schema

    broken = (*schema.MIGRATIONS, (LATEST_VERSION + 1, ("CREATE TABLE extra (x)", "THIS IS NOT SQL")))
    monkeypatch.setattr(schema, "MIGRATIONS", broken)
    monkeypatch.setattr(schema, "LATEST_VERSION", LATEST_VERSION + 1)
    with pytest.raises(LeanCamError, match="syntax error"):
        Store.open(tmp_path / "x.db")
    monkeypatch.undo()
    with Store.open(tmp_path / "x.db") as store:
        assert store.schema_version() == LATEST_VERSION
        assert not store._conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'extra'").fetchone()


def test_newer_database_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "leancam.db"
    with Store.open(path) as store:
        store._conn.execute("INSERT INTO schema_version VALUES (?, 0)", (LATEST_VERSION + 5,))
    for readonly in (False, True):
        with pytest.raises(LeanCamError, match="newer than this LeanCam") as info:
            Store.open(path, readonly=readonly)
        assert "\n" not in str(info.value)


def test_round_trip_of_every_record(tmp_path: Path) -> None:
    with Store.open(tmp_path / "leancam.db") as store:
        session = store.add_session(Session(time.time(), "file:demo.mp4"))
        assert session.id is not None
        run = store.add_run(Run(session.id, time.time(), 1.25, "initiation"))
        assert run.id is not None
        store.set_initiation(run.id, Initiation(1.23, 14.0, -0.02, "go"))
        store.end_run(run.id, 9.5, direction=-1)
        stride = store.add_stride(Stride(run.id, "left", 2.1, 2.16, 2.31, -0.01, 11.5, 0.01, 8.0, 176, 0.18, "no_go",
                                         ("sitting_back", "slouch")))
        store.add_stride(Stride(run.id, "right", 2.4, lean_deg=math.nan, cadence_spm=math.inf))
        event = store.add_event(Event(session.id, "contact", 2.1, run.id, {"foot": "left"}))
        clip = store.add_clip(_clip("a", 100.0, run_id=run.id))
        store.end_session(session.id, 123.0)

        (got_run,) = store.runs(session.id)
        assert got_run.end_t_s == 9.5 and got_run.direction == -1
        assert got_run.initiation == Initiation(1.23, 14.0, -0.02, "go", ())
        strides = store.strides(run.id)
        assert strides[0] == stride
        assert strides[1].lean_deg is None and strides[1].cadence_spm is None  # NaN/inf stored as unknown
        assert store.events(session.id) == [event]
        assert store.clips() == [clip] and store.clip(clip.id or 0) == clip
        assert store.sessions()[0].ended_at_s == 123.0
        with pytest.raises(ValueError, match="verdict"):
            store.add_stride(Stride(run.id, "left", 3.0, verdict="maybe"))
        with pytest.raises(sqlite3.IntegrityError):  # a stride needs an existing run
            store.add_stride(Stride(9999, "left", 3.0))
        with pytest.raises(sqlite3.IntegrityError):  # clip names are unique
            store.add_clip(_clip("a", 101.0))
        assert len(store.strides(run.id)) == 2, "failed inserts leave nothing behind"


def test_clips_come_oldest_first_and_survive_deleting_their_run(tmp_path: Path) -> None:
    with Store.open(tmp_path / "leancam.db") as store:
        s = store.add_session(Session(1.0))
        run = store.add_run(Run(s.id or 0, 1.0, 0.0))
        store.add_clip(_clip("new", 300.0, run_id=run.id))
        store.add_clip(_clip("old", 100.0))
        assert [c.name for c in store.clips()] == ["old", "new"]
        assert store.clip_bytes_total() == 2000
        store._conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
        assert [c.run_id for c in store.clips()] == [None, None]


def test_reader_sees_committed_rows_and_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "leancam.db"
    with pytest.raises(LeanCamError, match="no database yet"):
        Store.open(path, readonly=True)
    writer = Store.open(path)
    reader = Store.open(path, readonly=True)
    writer.add_clip(_clip("a", 1.0))
    assert [c.name for c in reader.clips()] == ["a"]
    with pytest.raises(LeanCamError, match="read-only"):
        reader.add_clip(_clip("b", 2.0))
    with pytest.raises(sqlite3.OperationalError):
        reader._conn.execute("DELETE FROM clips")
    assert reader.integrity_check() == "ok"
    reader.close()
    writer.close()


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "leancam.db"
    path.write_bytes(b"this is a text file, not SQLite\n" * 200)
    with pytest.raises(LeanCamError, match="cannot open the database") as info:
        Store.open(path)
    assert "\n" not in str(info.value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096), keep_header=st.booleans())
def test_fuzz_garbage_database_files(tmp_path: Path, data: bytes, keep_header: bool) -> None:
    """Any bytes as the database file: either it opens (and is checked) or a LeanCamError — never a crash."""
    path = tmp_path / "fuzz.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes((b"SQLite format 3\x00" if keep_header else b"") + data)
    for readonly in (True, False):
        try:
            store = Store.open(path, readonly=readonly)
        except LeanCamError as err:
            assert "\n" not in str(err)
            continue
        try:
            store.integrity_check()
        except sqlite3.DatabaseError:
            pass  # opened but corrupt: integrity_check is how the appliance finds out
        finally:
            store.close()


finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
any_float = st.floats(width=32) | st.none()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contact=finite, metrics=st.lists(any_float, min_size=8, max_size=8),
       verdict=st.sampled_from(["go", "no_go", "unsure"]),
       reasons=st.lists(st.text(max_size=12), max_size=3), foot=st.text(max_size=8))
def test_fuzz_stride_round_trip(tmp_path: Path, contact: float, metrics: list[float | None], verdict: str,
                                reasons: list[str], foot: str) -> None:
    with Store.open(tmp_path / "s.db") as store:
        s = store.add_session(Session(0.0))
        run = store.add_run(Run(s.id or 0, 0.0, 0.0))
        stride = store.add_stride(Stride(run.id or 0, foot, contact, *metrics, verdict, tuple(reasons)))
        got = next(g for g in store.strides(run.id or 0) if g.id == stride.id)
        for name, value in zip(("midstance_t_s", "toe_off_t_s", "hip_over_foot", "lean_deg", "pelvis_offset",
                                "trunk_deg", "cadence_spm", "overstride"), metrics, strict=True):
            want = value if value is not None and math.isfinite(value) else None
            assert getattr(got, name) == want
        assert got.reasons == tuple(reasons) and got.foot == foot and got.contact_t_s == contact


def test_atomic_file_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    """store.files: the one atomic write (config, password, sidecars, models)."""
    import os
    import stat

    from appliance.store.files import atomic_file, atomic_write

    target = tmp_path / "sub" / "f.txt"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_file(target) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("checksum mismatch")
    assert target.read_text() == "old" and os.listdir(target.parent) == ["f.txt"]  # no temp file left
    atomic_write(target, b"new", mode=0o600)
    assert target.read_bytes() == b"new"
    secret = tmp_path / "secret"
    atomic_write(secret, "hash", mode=0o600)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
