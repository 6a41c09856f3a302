// LeanCam live board: verdicts over server-sent events (EventSource reconnects by itself),
// camera image as MJPEG (reloaded if the stream breaks), optional mirror mode.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const board = $("board"), word = $("word"), reason = $("reason");
  const cadence = $("cadence"), lean = $("lean"), conn = $("conn"), fps = $("fps");
  const frame = $("frame"), mirrorBtn = $("mirror");
  const state = { lastVerdict: null, shownEpochMs: 0, verdicts: 0, statuses: 0, connected: false };
  window.leancam = state;

  function fmt(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }

  function showVerdict(v) {
    board.dataset.light = v.light;
    word.textContent = v.word;
    word.style.setProperty("--chars", String(Math.max(2, v.word.length)));
    reason.textContent = v.reason_text;
    cadence.textContent = fmt(v.cadence_spm, 0);
    lean.textContent = fmt(v.lean_deg, 1);
    state.lastVerdict = v;
    state.verdicts += 1;
    state.shownEpochMs = performance.timeOrigin + performance.now();
  }

  // Recording state and free space; a stopped recorder (disk full, write error) gets a warning that
  // stays until recording works again — the LEDs keep judging either way.
  const rec = $("rec"), disk = $("disk"), recwarn = $("recwarn");
  function showStorage(s) {
    const r = s.recording;
    rec.textContent = r ? (r.state === "recording" ? "● rec" : r.state === "disabled" ? "recording off" : "") : "";
    disk.textContent = s.disk_free_mb === null || s.disk_free_mb === undefined ? ""
      : "· " + (s.disk_free_mb >= 1000 ? (s.disk_free_mb / 1000).toFixed(1) + " GB" : s.disk_free_mb.toFixed(0) + " MB") + " free";
    const stopped = r && r.state === "stopped";
    recwarn.hidden = !stopped;
    recwarn.textContent = stopped ? "Recording stopped: " + (r.reason === "disk_full" ? "disk full — free space or lower the quota"
      : (r.reason || "write error")) + ". Feedback continues." : "";
  }

  function connect() {
    const es = new EventSource(board.dataset.events);
    es.addEventListener("open", () => { state.connected = true; conn.textContent = "live"; conn.className = "conn ok"; });
    es.addEventListener("error", () => { state.connected = false; conn.textContent = "reconnecting…"; conn.className = "conn bad"; });
    es.addEventListener("verdict", (e) => showVerdict(JSON.parse(e.data)));
    es.addEventListener("status", (e) => {
      const s = JSON.parse(e.data);
      state.statuses += 1;
      state.lastStatus = s;
      fps.textContent = s.fps ? s.fps.toFixed(0) + " fps" + (s.dropped_frames ? " · " + s.dropped_frames + " dropped" : "") : "";
      showStorage(s);
    });
  }

  // Mirror mode: ?mirror=1 or the button (remembered on this device).
  const params = new URLSearchParams(location.search);
  let mirrored = params.has("mirror") ? params.get("mirror") === "1" : localStorage.getItem("leancam.mirror") === "1";
  function applyMirror() {
    board.classList.toggle("mirrored", mirrored);
    if (mirrorBtn) mirrorBtn.setAttribute("aria-pressed", String(mirrored));
  }
  if (mirrorBtn) mirrorBtn.addEventListener("click", () => {
    mirrored = !mirrored;
    localStorage.setItem("leancam.mirror", mirrored ? "1" : "0");
    applyMirror();
  });
  applyMirror();

  if (frame) {
    const base = frame.getAttribute("src");
    frame.addEventListener("error", () => setTimeout(() => { frame.src = base + "?t=" + Date.now(); }, 2000));
  }
  connect();
})();
