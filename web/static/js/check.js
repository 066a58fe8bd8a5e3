// The system check before an exam: browser features, camera, microphone and connection.
"use strict";

(function () {
  const list = document.getElementById("checks");
  const summary = document.getElementById("check-summary");
  const proceed = document.getElementById("check-continue");
  const preview = document.getElementById("preview");
  let stream = null;

  function report(name, ok, text) {
    const result = list.querySelector(`[data-check="${name}"] .check-result`);
    result.textContent = text || (ok ? result.dataset.ok : result.dataset.failed);
    result.classList.toggle("check-ok", ok);
    result.classList.toggle("check-failed", !ok);
    return ok;
  }

  function browserWorks() {
    return Boolean(window.fetch && window.indexedDB && window.Promise && window.HTMLDialogElement
      && window.MediaRecorder && window.RTCPeerConnection && navigator.mediaDevices);
  }

  async function media() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (error) {
      stream = null;
    }
    const live = (kind) => Boolean(stream && stream.getTracks().some((t) => t.kind === kind && t.readyState === "live"));
    if (stream) preview.srcObject = stream;
    return [report("camera", live("video")), report("microphone", live("audio"))];
  }

  async function connection() {
    const times = [];
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      try {
        const response = await fetch("/api/time", { cache: "no-store", credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        times.push(performance.now() - started);
      } catch (error) {
        return report("connection", false);
      }
    }
    const slowest = Math.round(Math.max(...times));
    const result = list.querySelector('[data-check="connection"] .check-result');
    return slowest > 1500 ? report("connection", true, result.dataset.slow.replace("{ms}", String(slowest))) : report("connection", true);
  }

  async function run() {
    proceed.hidden = true;
    summary.textContent = "";
    const browser = report("browser", browserWorks());
    const [camera, microphone] = browser ? await media() : [report("camera", false), report("microphone", false)];
    const network = await connection();
    const checks = { browser, camera, microphone, connection: network };
    const ok = Object.values(checks).every(Boolean);
    summary.textContent = ok ? summary.dataset.ok : summary.dataset.failed;
    proceed.hidden = !ok;
    try {
      await fetch(list.dataset.report, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": list.dataset.csrf },
        body: JSON.stringify({ checks }),
      });
    } catch (error) {
      // The connection check above already tells the candidate.
    }
  }

  document.getElementById("check-again").addEventListener("click", run);
  window.addEventListener("pagehide", () => { if (stream) stream.getTracks().forEach((t) => t.stop()); });
  run();
})();
