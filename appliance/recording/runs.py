"""From analysis updates to runs in the store and clips from the recorder: the live wiring.

``RunLogger.on_update(t_s, update)`` takes what ``StreamingAnalyzer.push`` returned for a frame
(an object with ``events``, ``strides`` and ``start``, read by duck typing: the analysis owns those
types) and

- opens a run at the first initiation or stride, triggering the recorder at that moment (the
  pre-roll shows the runner before they moved);
- stores the initiation, every stride (design §6 fields, from ``to_json()``) and every gait event
  of the run, and hands them to the recorder for the clip's sidecar;
- ends the run — and, ``post_roll_s`` later, its clip — once nothing happened for ``idle_end_s``.

A database error (a full disk) is logged once and otherwise ignored: feedback must go on.

``store_result`` puts a whole-file analysis (an upload) into the store as one run; it builds its
rows with the same ``initiation_record``/``stride_record`` as the live path, so a run reads the
same in the replay pages whichever way it came in.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from appliance.recording.recorder import Recorder
from appliance.store import Clip, Event, Initiation, Run, Session, Store, Stride

log = logging.getLogger(__name__)

_STRIDE_KEYS = ("foot", "contact_t_s", "midstance_t_s", "toe_off_t_s", "hip_over_foot", "lean_deg",
                "pelvis_offset", "trunk_deg", "cadence_spm", "overstride", "verdict")


def initiation_record(ini: Mapping[str, Any]) -> Initiation:
    """The store's row for a judged start (``StartResult.to_json()``, or the analysis document's
    ``initiation``)."""
    return Initiation(ini["t_s"], ini.get("lean_deg"), ini.get("pelvis_offset"), ini["verdict"],
                      tuple(ini.get("reasons", ())))


def stride_record(run_id: int, doc: Mapping[str, Any]) -> Stride:
    """The store's row for a judged stride (``StrideResult.to_json()``: design §6 fields)."""
    return Stride(run_id=run_id, **{k: doc.get(k) for k in _STRIDE_KEYS}, reasons=tuple(doc.get("reasons", ())))


def store_result(store: Store, doc: Mapping[str, Any], events: Iterable[Any], clip: Clip, source: str,
                 at_s: float) -> Run:
    """A whole-file analysis (``AnalysisResult.to_json()`` as ``doc``, its gait ``events``) as a
    closed session with one run holding every stride and event, and ``clip`` as that run's video."""
    session = store.add_session(Session(started_at_s=at_s, source=source, ended_at_s=at_s))
    assert session.id is not None
    ini = doc["initiation"]
    run = store.add_run(Run(session_id=session.id, started_at_s=at_s, start_t_s=clip.start_t_s, trigger=clip.trigger,
                            end_t_s=clip.end_t_s, direction=doc["direction"],
                            initiation=None if ini is None else initiation_record(ini)))
    assert run.id is not None
    for s in doc["strides"]:
        store.add_stride(stride_record(run.id, s))
    for e in events:
        store.add_event(Event(session_id=session.id, kind=e.kind, t_s=e.t_s, run_id=run.id,
                              detail={"foot": e.foot, "frame_index": e.frame_index}))
    store.add_clip(dataclasses.replace(clip, run_id=run.id, session_id=session.id))
    return run


class RunLogger:
    """Runs, strides and events into the store; recorder triggers at run start and end."""

    def __init__(self, store: Store | None, session_id: int | None, recorder: Recorder | None = None,
                 idle_end_s: float = 2.0) -> None:
        self.store = store if session_id is not None else None
        self.session_id = session_id
        self.recorder = recorder
        self.idle_end_s = idle_end_s
        self.run: Run | None = None
        self.runs_started = 0
        self._last_activity_t_s = 0.0
        self._db_failed = False

    def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.store is None:
            return None
        try:
            return fn(*args)
        except sqlite3.Error as err:
            if not self._db_failed:
                log.warning("database write failed (%s); runs are not stored until it works again", err)
            self._db_failed = True
            return None

    def _open_run(self, t_s: float, reason: str) -> None:
        run = None
        if self.store is not None and self.session_id is not None:
            run = self._db(self.store.add_run, Run(self.session_id, time.time(), t_s, reason))
        self.run = run or Run(self.session_id or 0, time.time(), t_s, reason)
        self.runs_started += 1
        if self.recorder is not None:
            self.recorder.trigger(reason, t_s, run_id=self.run.id)
        log.info("run started (%s at %.2f s)", reason, t_s)

    def on_update(self, t_s: float, update: Any) -> None:
        """Feed one frame's analysis update (``StreamingAnalyzer.push``'s result) at capture time ``t_s``."""
        start = getattr(update, "start", None)
        strides = getattr(update, "strides", ()) or ()
        events = getattr(update, "events", ()) or ()
        if start is not None:
            ini = start.to_json()
            if self.run is None:
                self._open_run(float(ini["t_s"]), "initiation")
            if self.run is not None and self.run.id is not None and self.store is not None:
                self._db(self.store.set_initiation, self.run.id, initiation_record(ini))
            if self.recorder is not None:
                self.recorder.note_event("initiation", ini["t_s"], verdict=ini["verdict"],
                                         reasons=list(ini.get("reasons", ())))
            self._last_activity_t_s = t_s
        for stride in strides:
            doc = stride.to_json()
            if self.run is None:
                self._open_run(float(doc["contact_t_s"]), "stride")
            assert self.run is not None
            if self.run.id is not None and self.store is not None:
                self._db(self.store.add_stride, stride_record(self.run.id, doc))
            if self.recorder is not None:
                self.recorder.note_event("stride", doc["toe_off_t_s"] or doc["contact_t_s"], **doc)
            self._last_activity_t_s = t_s
        for ev in events:
            kind, ev_t_s, foot = getattr(ev, "kind", "event"), float(getattr(ev, "t_s", t_s)), getattr(ev, "foot", None)
            if self.recorder is not None:
                self.recorder.note_event(str(kind), ev_t_s, foot=foot)
            if self.run is not None and self.run.id is not None and self.store is not None \
                    and self.session_id is not None:
                self._db(self.store.add_event, Event(self.session_id, str(kind), ev_t_s, self.run.id,
                                                     {"foot": foot} if foot else {}))
            if self.run is not None:
                self._last_activity_t_s = t_s
        if self.run is not None and t_s - self._last_activity_t_s > self.idle_end_s:
            self.end(self._last_activity_t_s)

    def end(self, t_s: float | None = None) -> None:
        """End the open run (no more strides, session over)."""
        if self.run is None:
            return
        end_t_s = self._last_activity_t_s if t_s is None else t_s
        if self.run.id is not None and self.store is not None:
            self._db(self.store.end_run, self.run.id, end_t_s)
        if self.recorder is not None:
            self.recorder.end(end_t_s)
        log.info("run ended at %.2f s", end_t_s)
        self.run = None
