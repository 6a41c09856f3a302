"""HTTP fuzz of the web display: no request gets a 5xx, and no file outside the recordings is served.

Hypothesis builds requests from the app's own URL map (every rule, with its parameters replaced by
random, hostile or boundary values: '..', encoded separators, huge and negative numbers, unicode),
random query strings and form bodies, on a state dir holding a real clip and a planted secret file
next to the recordings. Any 5xx, or the secret's content in a response, fails.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.store import Clip, Run, Session, Store
from appliance.web import create_app

SECRET = "TOP-SECRET-NOT-A-RECORDING"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, demo_clip: Path) -> Flask:
    root = tmp_path_factory.mktemp("fuzz")
    state = root / "state"
    clips = state / "clips"
    clips.mkdir(parents=True)
    shutil.copy(demo_clip, clips / "run1.mp4")
    (clips / "run1.json").write_text(json.dumps({"kind": "leancam-clip", "clip": {}, "events": [], "keypoints": []}))
    (root / "secret.txt").write_text(SECRET)
    (state / "secret.txt").write_text(SECRET)
    with Store.open(state / "leancam.db") as store:
        s = store.add_session(Session(started_at_s=1.7e9, source="file:demo.mp4"))
        r = store.add_run(Run(session_id=s.id, started_at_s=1.7e9, start_t_s=0.0, trigger="initiation"))
        store.add_clip(Clip(name="run1", video_file="run1.mp4", sidecar_file="run1.json", created_at_s=1.7e9,
                            start_t_s=0.0, end_t_s=7.6, frames=230, width_px=1768, height_px=994,
                            size_bytes=(clips / "run1.mp4").stat().st_size, run_id=r.id, session_id=s.id))
    app = create_app(state_dir=state, test_config={"WTF_CSRF_ENABLED": False})
    app.testing = False  # errors must become responses, as in production, not exceptions
    return app


def _rules(app: Flask) -> list[tuple[str, list[str]]]:
    return [(r.rule, sorted((r.methods or set()) - {"HEAD", "OPTIONS"})) for r in app.url_map.iter_rules()
            if r.endpoint not in ("live.stream", "live.events")]  # endless streams: covered by the browser tests


hostile = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["..", "../secret.txt", "..%2f..%2fsecret.txt", "%00", "1.jpg", "0", "-1",
                     "9" * 40, "run1.mp4", "../../etc/passwd", "%2e%2e", "\u202e", "a" * 500]),
    st.text(min_size=0, max_size=30),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_5xx_and_nothing_outside_recordings(app: Flask, data: st.DataObject) -> None:
    rule, methods = data.draw(st.sampled_from(_rules(app)))
    # A value stays inside its path segment: '/', '?' and '#' percent-encoded as a browser would.
    path = re.sub(r"<(?:[^:>]+:)?[^>]+>", lambda _m: data.draw(hostile).replace("/", "%2F").replace("?", "%3F")
                  .replace("#", "%23"), rule)
    method = data.draw(st.sampled_from([*methods, "GET", "POST", "PUT", "DELETE"]))
    query = data.draw(st.dictionaries(st.text(max_size=8), hostile, max_size=3))
    form = data.draw(st.dictionaries(st.text(max_size=12), hostile, max_size=4))
    client = app.test_client()
    resp = client.open(path, method=method, query_string=query, data=form if method == "POST" else None)
    assert resp.status_code < 500, f"{method} {path} {query} {form} -> {resp.status_code}"
    if resp.direct_passthrough:
        resp.close()  # streamed file responses
        return
    assert SECRET.encode() not in resp.get_data(), f"{method} {path} served a file outside the recordings"
