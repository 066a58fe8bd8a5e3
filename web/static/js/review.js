// An attempt's review page: "Play from here" plays the part's recording from the flag's moment
// on this page, without loading it again, and starts it from the click (the page may not
// start sound on its own). The recording is the browser's MediaRecorder output, which says
// nothing of its length: the player is told where to go once it has read the recording's
// header. The link's own address (?recording=&at=, the player's src with #t=) works without
// this script; such an address opened later puts the player at that moment too.
"use strict";

(function () {
  function seekWhenReady(video, seconds) {
    const seek = () => {
      if (Math.abs(video.currentTime - seconds) > 0.5) video.currentTime = seconds;
    };
    if (video.readyState >= HTMLMediaElement.HAVE_METADATA) seek();
    else video.addEventListener("loadedmetadata", seek, { once: true });
  }

  function playFrom(link) {
    // A recording the candidate's recorder started again has one player per WebM file: the
    // link names the one that holds its moment, and the moment in that file.
    const video = document.getElementById(link.dataset.player || "");
    const seconds = Number(link.dataset.at);
    if (!(video instanceof HTMLVideoElement) || !Number.isFinite(seconds)) return false;
    document.querySelectorAll("video").forEach((other) => { if (other !== video) other.pause(); });
    const status = document.getElementById(`playing-${video.id}`);
    if (status) status.textContent = link.dataset.playing || "";
    if (video.preload === "none") video.preload = "auto";
    seekWhenReady(video, seconds);
    // Started from the click itself: browsers let a page play sound only when a person asks.
    const started = video.play();
    if (started) started.catch(() => {});
    video.scrollIntoView({ block: "center" });
    video.focus({ preventScroll: true });
    return true;
  }

  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.play-from") : null;
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (playFrom(link)) event.preventDefault();
  });

  document.querySelectorAll("video[data-start]").forEach((video) => {
    const start = Number(video.dataset.start);
    seekWhenReady(video, start);
    // An oral answer is a stretch of the recording: it stops at the answer's end, and played
    // again it starts at the answer's start.
    const end = Number(video.dataset.end);
    if (!video.dataset.end || !Number.isFinite(end)) return;
    video.addEventListener("timeupdate", () => {
      if (video.currentTime >= end && !video.paused) { video.pause(); video.currentTime = end; }
    });
    video.addEventListener("play", () => {
      if (video.currentTime >= end - 0.05 || video.currentTime < start - 0.5) video.currentTime = start;
    });
  });
})();
