// LeanCam replay: frame-exact scrubbing (slider, ←/→, , and . for events), gait-event markers,
// skeleton overlay drawn from the recorded keypoints, per-stride plots and a side-by-side view.
"use strict";
(async function () {
  const $ = (id) => document.getElementById(id);
  const root = $("replay");
  const state = { ready: false, frame: -1, shown: -1, loads: 0 };
  window.leancamReplay = state;
  const data = await (await fetch(root.dataset.runUrl)).json();
  state.data = data;

  const EDGES = [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25], [25, 27],
    [27, 29], [29, 31], [27, 31], [24, 26], [26, 28], [28, 30], [30, 32], [28, 32], [0, 7], [0, 8]];
  const VERDICT_COLOURS = { go: "#19c15a", no_go: "#e5332a", unsure: "#ffb000" };
  const KIND_NAMES = { initiation: "initiation", contact: "contact", midstance: "midstance", toe_off: "toe-off" };

  // ------------------------------------------------------------------ plots (hand-written SVG)
  const SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function plot(svg, key, digits) {
    const pts = data.strides.filter((s) => s[key] !== null && s[key] !== undefined);
    const W = svg.clientWidth || 600, H = svg.clientHeight || 170, L = 44, R = 10, T = 10, B = 22;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.textContent = "";
    if (!pts.length) { el("text", { x: L, y: H / 2 }, svg).textContent = "no strides"; return; }
    let lo = Math.min(0, ...pts.map((s) => s[key])), hi = Math.max(0, ...pts.map((s) => s[key]));
    if (hi - lo < 1e-6) { hi += 1; lo -= 1; }
    const pad = (hi - lo) * 0.1; lo -= pad; hi += pad;
    const n = data.strides.length;
    const x = (i) => L + (n <= 1 ? (W - L - R) / 2 : ((i - 1) / (n - 1)) * (W - L - R));
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    el("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#555", "stroke-dasharray": "4 3" }, svg);
    for (const v of [lo + pad, hi - pad]) {
      el("text", { x: 4, y: y(v) + 4 }, svg).textContent = v.toFixed(digits);
    }
    el("text", { x: 4, y: y(0) + 4 }, svg).textContent = "0";
    el("polyline", { points: pts.map((s) => `${x(s.index)},${y(s[key])}`).join(" "), fill: "none", stroke: "#4ea1ff",
      "stroke-width": 2 }, svg);
    for (const s of pts) {
      const c = el("circle", { cx: x(s.index), cy: y(s[key]), r: 6, fill: VERDICT_COLOURS[s.verdict] || "#aaa",
        stroke: "#000", class: "pt", "data-stride": s.index }, svg);
      el("title", {}, c).textContent = `stride ${s.index}: ${s[key].toFixed(digits)} (${s.verdict})`;
      c.addEventListener("click", () => gotoStride(s.index));
      el("text", { x: x(s.index) - 3, y: H - 6 }, svg).textContent = String(s.index);
    }
  }
  function drawPlots() { plot($("plot-lean"), "lean_deg", 1); plot($("plot-hof"), "hip_over_foot", 2); }
  drawPlots();
  window.addEventListener("resize", drawPlots);

  const rows = Array.from(document.querySelectorAll("#strides tr[data-stride]"));
  rows.forEach((r) => r.addEventListener("click", () => gotoStride(Number(r.dataset.stride))));

  if (!data.clip) { state.ready = true; return; }

  // ------------------------------------------------------------------ frames and overlay
  const clip = data.clip, n = clip.frames;
  const frames = await (await fetch(clip.frames_url)).json();
  const canvas = $("view"), ctx = canvas.getContext("2d");
  const slider = $("slider"), overlay = $("overlay"), info = $("frameinfo");
  const cache = new Map();

  function load(i) {
    if (!cache.has(i)) {
      cache.set(i, new Promise((resolve, reject) => {
        const im = new Image();
        im.onload = () => { state.loads += 1; resolve(im); };
        im.onerror = () => { cache.delete(i); reject(new Error("frame " + i)); };
        im.src = clip.frame_url + i + ".jpg";
      }));
      if (cache.size > 240) cache.delete(cache.keys().next().value);
    }
    return cache.get(i);
  }

  function drawPose(c, g, kp) {
    if (!kp) return;
    const W = c.width, H = c.height, t = Math.max(2, Math.round(Math.min(W, H) / 200));
    const P = (i) => [kp[i][0] * W, kp[i][1] * H];
    const vis = (i) => kp[i][2] >= 0.5;
    g.lineCap = "round";
    for (const [a, b] of EDGES) {
      if (!vis(a) || !vis(b)) continue;
      const left = a % 2 === 1 && b % 2 === 1 && a > 10, right = a % 2 === 0 && b % 2 === 0 && a > 10;
      g.strokeStyle = left ? "#50a0ff" : right ? "#ff7850" : "#fff";
      g.lineWidth = t;
      g.beginPath(); g.moveTo(...P(a)); g.lineTo(...P(b)); g.stroke();
    }
    const mean = (idx) => {
      const v = idx.filter(vis);
      return v.length ? [v.reduce((s, i) => s + P(i)[0], 0) / v.length, v.reduce((s, i) => s + P(i)[1], 0) / v.length] : null;
    };
    const pelvis = mean([23, 24]), head = mean([7, 8]) || mean([0]);
    const feet = [mean([29, 31]), mean([30, 32])].filter(Boolean);
    if (pelvis && head && feet.length) {
      const foot = feet.reduce((a, b) => (b[1] > a[1] ? b : a));
      g.strokeStyle = "#ffb000"; g.lineWidth = t * 2;
      g.beginPath(); g.moveTo(...foot); g.lineTo(...pelvis); g.lineTo(...head); g.stroke();
    }
  }

  function markerAt(i) { return data.markers.filter((m) => m.frame === i); }
  function strideAt(i) {
    return data.strides.find((s) => s.contact_frame !== null && s.toe_off_frame !== null &&
      s.contact_frame <= i && i <= s.toe_off_frame);
  }

  let seq = 0;
  async function show(i) {
    i = Math.max(0, Math.min(n - 1, Math.round(i)));
    state.frame = i;
    slider.value = String(i);
    const token = ++seq;
    let im;
    try { im = await load(i); } catch (e) { return; }
    if (token !== seq) return;
    if (canvas.width !== im.naturalWidth) { canvas.width = im.naturalWidth; canvas.height = im.naturalHeight; }
    ctx.drawImage(im, 0, 0, canvas.width, canvas.height);
    if (overlay.checked) drawPose(canvas, ctx, frames.keypoints[i]);
    const ms = markerAt(i);
    const stride = strideAt(i);
    info.innerHTML = "";
    info.append(`frame ${i + 1} / ${n} · ${frames.times_s[i].toFixed(2)} s`);
    if (ms.length) {
      const b = document.createElement("span");
      b.className = "eventname";
      b.id = "eventname";
      b.textContent = " · " + ms.map((m) => KIND_NAMES[m.kind] + (m.foot ? ` (${m.foot})` : "")).join(", ");
      info.append(b);
    }
    if (stride) info.append(` · stride ${stride.index}`);
    rows.forEach((r) => r.classList.toggle("sel", stride !== undefined && Number(r.dataset.stride) === stride.index));
    state.shown = i;
    for (const j of [i + 1, i + 2, i - 1]) if (j >= 0 && j < n) load(j).catch(() => {});
  }

  function gotoStride(index) {
    const s = data.strides.find((x) => x.index === index);
    if (s && s.contact_frame !== null && s.contact_frame !== undefined) show(s.contact_frame);
  }

  const eventFrames = [...new Set(data.markers.filter((m) => m.frame !== undefined).map((m) => m.frame))].sort((a, b) => a - b);
  function nextEvent(dir) {
    const cur = state.frame;
    const cand = dir > 0 ? eventFrames.find((f) => f > cur) : [...eventFrames].reverse().find((f) => f < cur);
    if (cand !== undefined) show(cand);
  }

  // markers above the slider: one per (kind, frame), naming every foot it stands for
  const mk = $("markers");
  const groups = new Map();
  for (const m of data.markers) {
    if (m.frame === undefined) continue;
    const key = m.kind + ":" + m.frame;
    if (!groups.has(key)) groups.set(key, { kind: m.kind, frame: m.frame, feet: [] });
    if (m.foot) groups.get(key).feet.push(m.foot);
  }
  for (const g of groups.values()) {
    const d = document.createElement("div");
    d.className = "marker " + g.kind;
    d.style.left = (n > 1 ? (g.frame / (n - 1)) * 100 : 0) + "%";
    d.title = `${KIND_NAMES[g.kind]}${g.feet.length ? " (" + g.feet.join(", ") + ")" : ""} · frame ${g.frame + 1}`;
    d.dataset.frame = String(g.frame);
    d.addEventListener("click", () => show(g.frame));
    mk.appendChild(d);
  }

  slider.addEventListener("input", () => show(Number(slider.value)));
  overlay.addEventListener("change", () => show(state.frame));
  $("prev").addEventListener("click", () => show(state.frame - 1));
  $("next").addEventListener("click", () => show(state.frame + 1));
  $("prev-event").addEventListener("click", () => nextEvent(-1));
  $("next-event").addEventListener("click", () => nextEvent(1));
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLSelectElement || (e.target instanceof HTMLInputElement && e.target !== slider)) return;
    const step = e.shiftKey ? 10 : 1;
    if (e.key === "ArrowRight") { e.preventDefault(); show(state.frame + step); }
    else if (e.key === "ArrowLeft") { e.preventDefault(); show(state.frame - step); }
    else if (e.key === ".") { e.preventDefault(); nextEvent(1); }
    else if (e.key === ",") { e.preventDefault(); nextEvent(-1); }
    else if (e.key === "Home") { e.preventDefault(); show(0); }
    else if (e.key === "End") { e.preventDefault(); show(n - 1); }
  });

  // ------------------------------------------------------------------ two strides side by side
  const cmpA = $("cmp-a"), cmpB = $("cmp-b"), phase = $("cmp-phase");
  async function drawCompare() {
    if (!cmpA) return;
    const p = Number(phase.value) / 100;
    for (const [sel, id] of [[cmpA, "cmp-view-a"], [cmpB, "cmp-view-b"]]) {
      const s = data.strides[Number(sel.value)];
      const c = $(id), g = c.getContext("2d");
      if (!s || s.contact_frame === null || s.toe_off_frame === null) continue;
      const i = Math.round(s.contact_frame + p * (s.toe_off_frame - s.contact_frame));
      let im;
      try { im = await load(i); } catch (e) { continue; }
      if (c.width !== im.naturalWidth) { c.width = im.naturalWidth; c.height = im.naturalHeight; }
      g.drawImage(im, 0, 0, c.width, c.height);
      if (overlay.checked) drawPose(c, g, frames.keypoints[i]);
    }
  }
  if (cmpA) { [cmpA, cmpB, phase].forEach((e) => e.addEventListener("input", drawCompare)); }

  const first = data.markers.find((m) => m.frame !== undefined);
  await show(first ? first.frame : 0);
  await drawCompare();
  state.ready = true;
})();
