// The proctors' live grid: the server sends the grid's changes as server-sent events; this script
// fills the cards in, counts the running clocks down between events and announces new flags
// (politely, once each). Every word comes from the page (#live-config), translated.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("live-config").textContent);
  const labels = config.labels;
  const grid = document.getElementById("live-grid");
  const empty = document.getElementById("live-empty");
  const status = document.getElementById("live-status");
  const announcer = document.getElementById("live-announcer");
  const template = document.getElementById("live-card-template");
  const cards = new Map(); // registration id -> the card's newest data
  let clockOffset = Date.parse(config.serverTime) - Date.now();
  let lost = false;

  const format = (text, values) => text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
  const field = (element, name) => element.querySelector(`[data-field="${name}"]`);

  function clock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const rest = String(total % 60).padStart(2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${rest}` : `${minutes}:${rest}`;
  }

  function secondsLeft(card) {
    if (card.seconds_left === null) return null;
    if (card.paused || !card.deadline) return card.seconds_left;
    return (Date.parse(card.deadline) - (Date.now() + clockOffset)) / 1000;
  }

  function newCard(card) {
    const element = template.content.firstElementChild.cloneNode(true);
    const id = String(card.registration_id);
    // The template's ids and links end in an empty registration id: complete them.
    element.id = `card-${id}`;
    element.dataset.registration = id;
    element.setAttribute("aria-labelledby", `card-${id}-name`);
    element.querySelector("h2").id = `card-${id}-name`;
    element.querySelectorAll("[id]").forEach((node) => {
      if (node.id.endsWith("-")) node.id += id;
    });
    element.querySelectorAll("label[for]").forEach((node) => node.setAttribute("for", node.getAttribute("for") + id));
    element.querySelectorAll("form").forEach((form) => {
      form.action = `${config.base}${id}/${form.dataset.action}`;
    });
    field(element, "review").href = `/proctor/registrations/${id}`;
    return element;
  }

  function fill(element, card) {
    field(element, "review").textContent = card.candidate;
    const image = field(element, "frame");
    if (card.frame_id) {
      const source = `${config.frames}${card.frame_id}`;
      if (image.getAttribute("src") !== source) image.src = source;
      image.alt = format(labels.frame, { name: card.candidate });
      image.hidden = false;
      field(element, "no-frame").hidden = true;
    } else {
      image.hidden = true;
      field(element, "no-frame").hidden = false;
    }
    field(element, "connection").textContent = card.connection ? labels.connection[card.connection] || card.connection : labels.noConnection;
    field(element, "camera").textContent = card.camera ? labels.on : labels.off;
    field(element, "microphone").textContent = card.microphone ? labels.on : labels.off;
    field(element, "part").textContent = card.part_number
      ? format(labels.part, { number: card.part_number }) + (card.paused ? ` (${labels.paused})` : "")
      : labels.betweenParts;
    field(element, "flags").textContent = card.open_flags
      ? format(labels.flags, { count: card.open_flags, severity: labels.severity[card.worst] || card.worst })
      : labels.noFlags;
    element.classList.remove("flag-low", "flag-medium", "flag-high");
    if (card.worst) element.classList.add(`flag-${card.worst}`);
    element.querySelectorAll('input[name="part"]').forEach((input) => { input.value = card.part_id || ""; });
    field(element, "pause").hidden = card.paused || !card.part_id;
    field(element, "resume").hidden = !card.paused;
    field(element, "video").setAttribute("aria-label", format(labels.video, { name: card.candidate }));
    field(element, "cheating").href = `/proctor/review/attempts/${card.attempt_id}`;
    tick(element, card);
  }

  // ---- one candidate's live video, relayed by the server -------------------------------------
  const watching = new Map(); // registration id -> RTCPeerConnection

  function stopWatching(element, id) {
    const pc = watching.get(id);
    if (pc) pc.close();
    watching.delete(id);
    const video = field(element, "video");
    video.srcObject = null;
    video.hidden = true;
    const button = field(element, "watch");
    button.textContent = labels.watch;
    button.setAttribute("aria-pressed", "false");
  }

  async function startWatching(element, id) {
    const button = field(element, "watch");
    const state = field(element, "watch-status");
    const video = field(element, "video");
    const pc = new RTCPeerConnection();
    watching.set(id, pc);
    button.textContent = labels.stopWatching;
    button.setAttribute("aria-pressed", "true");
    state.textContent = labels.watchConnecting;
    const stream = new MediaStream();
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      video.srcObject = stream;
      video.hidden = false;
      state.textContent = "";
    });
    pc.addEventListener("connectionstatechange", () => {
      if (["failed", "closed"].includes(pc.connectionState) && watching.get(id) === pc) stopWatching(element, id);
    });
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      // No trickle ICE: the server takes one complete offer.
      await new Promise((resolve) => {
        if (pc.iceGatheringState === "complete") return resolve();
        pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
      });
      const response = await fetch(config.watch.replace("{id}", id), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": config.csrf },
        body: JSON.stringify({ sdp: pc.localDescription.sdp, type: "offer" }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
      await pc.setRemoteDescription(body);
    } catch (error) {
      stopWatching(element, id);
      state.textContent = format(labels.watchFailed, { reason: error.message });
    }
  }

  grid.addEventListener("click", (event) => {
    const button = event.target.closest('[data-field="watch"]');
    if (!button) return;
    const element = button.closest(".live-card");
    const id = element.dataset.registration;
    if (watching.has(id)) stopWatching(element, id);
    else startWatching(element, id);
  });

  function tick(element, card) {
    const left = secondsLeft(card);
    field(element, "time-left").textContent = left === null ? "–" : clock(left);
  }

  function place(element, card) {
    // Cards are in the candidates' alphabetical order, as the server sends them first.
    const after = [...grid.children].find((other) => {
      const data = cards.get(Number(other.dataset.registration));
      return other !== element && data && data.candidate.localeCompare(card.candidate) > 0;
    });
    if (after) grid.insertBefore(element, after);
    else grid.appendChild(element);
  }

  function announceFlag(previous, card) {
    if (!card.newest_flag_id || !card.newest_flag) return;
    if (previous && previous.newest_flag_id && previous.newest_flag_id >= card.newest_flag_id) return;
    if (!previous && !initialised) return;
    announcer.textContent = format(labels.newFlag, { name: card.candidate, flag: labels.flag[card.newest_flag] || card.newest_flag });
  }

  let initialised = false;

  function upsert(card) {
    const previous = cards.get(card.registration_id);
    let element = document.getElementById(`card-${card.registration_id}`);
    if (!element) element = newCard(card);
    cards.set(card.registration_id, card);
    fill(element, card);
    if (!element.parentNode) place(element, card);
    announceFlag(previous, card);
  }

  function remove(id) {
    cards.delete(id);
    const element = document.getElementById(`card-${id}`);
    if (element && watching.has(String(id))) stopWatching(element, String(id));
    // A card whose form is being written in stays until the proctor leaves it.
    if (element && !element.contains(document.activeElement)) element.remove();
  }

  function changed() {
    empty.hidden = cards.size > 0;
  }

  const source = new EventSource(config.events);
  source.addEventListener("grid", (event) => {
    const body = JSON.parse(event.data);
    clockOffset = Date.parse(body.server_time) - Date.now();
    const seen = new Set(body.cards.map((card) => card.registration_id));
    [...cards.keys()].filter((id) => !seen.has(id)).forEach(remove);
    grid.querySelectorAll(".live-card").forEach((element) => {
      if (!seen.has(Number(element.dataset.registration)) && !element.contains(document.activeElement)) element.remove();
    });
    body.cards.forEach(upsert);
    initialised = true;
    changed();
  });
  source.addEventListener("changes", (event) => {
    const body = JSON.parse(event.data);
    clockOffset = Date.parse(body.server_time) - Date.now();
    body.cards.forEach(upsert);
    body.gone.forEach(remove);
    changed();
  });
  let lostTimer = null;
  source.addEventListener("open", () => {
    window.clearTimeout(lostTimer);
    if (lost) status.textContent = labels.connectionBack;
    lost = false;
  });
  source.addEventListener("error", () => {
    // The browser reconnects by itself (with the last event's id), as it does each time the
    // server ends a stream: only a reconnect that takes long is worth saying.
    window.clearTimeout(lostTimer);
    lostTimer = window.setTimeout(() => {
      if (!lost) status.textContent = labels.connectionLost;
      lost = true;
    }, 5000);
  });

  window.setInterval(() => {
    cards.forEach((card, id) => {
      const element = document.getElementById(`card-${id}`);
      if (element && !card.paused) tick(element, card);
    });
  }, 1000);
})();
