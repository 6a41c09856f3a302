// Upload with a progress bar (XMLHttpRequest upload events), then follow the analysis job and
// open the result in Replay. Errors (too large, not a video, analysis failed) are shown in words.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("upload-form"), input = $("video"), bar = $("progress"), box = $("progress-box");
  const phase = $("phase"), pct = $("pct"), errBox = $("upload-error"), send = $("send");
  const limit = Number(form.dataset.limit);
  const state = { phase: "idle", error: null };
  window.leancamUpload = state;

  function fail(msg) {
    state.phase = "failed"; state.error = msg;
    errBox.textContent = msg; errBox.hidden = false; box.hidden = true; send.disabled = false;
  }
  function setProgress(label, fraction) {
    phase.textContent = label;
    if (fraction === null || fraction === undefined) { bar.removeAttribute("value"); pct.textContent = ""; }
    else { bar.value = Math.round(fraction * 100); pct.textContent = Math.round(fraction * 100) + " %"; }
  }

  async function follow(url) {
    state.phase = "analysing";
    for (;;) {
      let job;
      try { job = await (await fetch(url)).json(); } catch (e) { await new Promise((r) => setTimeout(r, 1000)); continue; }
      if (job.error) return fail(job.error);
      if (job.state === "failed") return fail("Analysis failed: " + job.message);
      if (job.state === "done") {
        state.phase = "done"; setProgress("Done, opening the replay…", 1);
        location.href = job.run_url; return;
      }
      setProgress(job.state === "queued" ? "Waiting for the analyser…" :
        `Analysing: frame ${job.frames_done}${job.frames_total ? " of " + job.frames_total : ""}`, job.progress);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    errBox.hidden = true;
    const file = input.files[0];
    if (!file) return fail("Choose a video first.");
    if (file.size > limit) {
      return fail(`The video is larger than this unit's ${form.dataset.limitMb} MB upload limit. ` +
        "Trim it on the phone (a few seconds of running are enough) and try again.");
    }
    const fps = $("capture_fps").value;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action + (fps ? "?capture_fps=" + encodeURIComponent(fps) : ""));
    xhr.setRequestHeader("X-CSRFToken", form.elements.csrf_token.value);
    xhr.setRequestHeader("X-Filename", encodeURIComponent(file.name));
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable) setProgress("Uploading…", ev.loaded / ev.total);
    });
    xhr.addEventListener("load", () => {
      const body = xhr.response || {};
      if (xhr.status === 202) { setProgress("Checking the video…", null); follow(body.status_url); }
      else fail(body.error || `Upload failed (HTTP ${xhr.status}).`);
    });
    xhr.addEventListener("error", () => fail("The upload was interrupted (network or the unit restarted)."));
    state.phase = "uploading";
    box.hidden = false; send.disabled = true;
    setProgress("Uploading…", 0);
    xhr.send(file);
  });
})();
