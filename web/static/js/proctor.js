// Proctoring on the exam pages: the candidate's own picture, the live channel to the proctoring
// service, the recording in chunks (kept in IndexedDB until the server has them) and the browser
// events the proctors should know about. The server decides what counts as a problem; this
// script reports what the browser sees and makes sure no recorded piece is lost on the way.
"use strict";

(function () {
  const configElement = document.getElementById("proctor-config");
  if (!configElement) return;
  const config = JSON.parse(configElement.textContent);
  const messages = config.messages;
  const partId = config.part;
  const selfView = document.getElementById("self-view");
  const statusBox = document.getElementById("media-status");
  const alertBox = document.getElementById("media-alert");
  const retryButton = document.getElementById("media-retry");
  const startButton = document.querySelector("#start-part[data-needs-media]");
  const recording = partId !== null && partId !== undefined && Boolean(config.chunkUrl);
  const chunkMs = Math.max(1, Number(config.chunkSeconds) || 5) * 1000;

  const RETRY_MS = 3000;
  const LIVE_MAX_DELAY_MS = 15000;
  const DISCONNECTED_GRACE_MS = 5000; // "disconnected" often heals itself (a Wi-Fi hand-over)
  const CONNECT_LIMIT_MS = 20000; // the browser's own ICE timeout is much longer
  const GATHER_LIMIT_MS = 10000;
  const UPLOAD_LIMIT_MS = 60000;
  const REQUEST_LIMIT_MS = 15000;
  const FINISH_SEND_MS = 5000;
  const FINISH_UPLOAD_MS = 10000;
  // More chunks than this waiting is worth telling the candidate (so the count shown is always
  // plural: the one text without plural forms fits both languages).
  const WAITING_SHOWN = 2;
  const WAITING_REFRESH_MS = 30000;

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
  }

  const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));
  const withLimit = (promise, ms) => Promise.race([promise, sleep(ms)]);

  // ---- the server's clock -------------------------------------------------------------------
  let clockOffset = Date.parse(config.serverTime) - Date.now();
  if (!Number.isFinite(clockOffset)) clockOffset = 0;
  const serverNow = () => Date.now() + clockOffset;
  const isoAt = (ms) => new Date(ms).toISOString();

  async function syncClock() {
    try {
      const sent = Date.now();
      const response = await fetch("/api/time", { cache: "no-store", credentials: "same-origin" });
      const body = await response.json();
      const received = Date.now();
      const offset = Date.parse(body.server_time) + (received - sent) / 2 - received;
      if (Number.isFinite(offset)) clockOffset = offset;
    } catch (error) {
      // Offline: keep the last offset.
    }
  }

  // ---- talking to the server ----------------------------------------------------------------
  const worthRetrying = (status) => status >= 500 || status === 408 || status === 429;

  function timedFetch(url, options, ms) {
    // A request that hangs would hold up everything queued behind it: give up and retry.
    const controller = new AbortController();
    const timer = window.setTimeout(() => controller.abort(), ms);
    return fetch(url, Object.assign({ credentials: "same-origin", signal: controller.signal }, options))
      .finally(() => window.clearTimeout(timer));
  }

  function postJson(url, body, extra, limitMs) {
    return timedFetch(url, Object.assign({
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": config.csrf },
      body: JSON.stringify(body),
    }, extra), limitMs || REQUEST_LIMIT_MS);
  }

  async function errorText(response) {
    try {
      return (await response.json()).error.message;
    } catch (error) {
      return response.statusText || String(response.status);
    }
  }

  // ---- what the candidate sees --------------------------------------------------------------
  const state = {
    media: "starting", // "starting" | "on" | "failed"
    mediaError: "", // how to fix a failed start, shown as an alert
    lost: new Set(), // "camera" and/or "microphone" while they deliver nothing
    recovered: false, // after a loss, "back" says more than "on"
    live: "connecting", // "connecting" | "connected" | "lost"
    waiting: 0, // recorded chunks not on the server yet, as last shown
    serverSees: false, // the server receives picture and sound (asked on the page before a part)
  };

  if (retryButton && !retryButton.textContent.trim()) retryButton.textContent = messages.retry;
  const heading = document.getElementById("proctoring-heading");

  function setText(element, text) {
    // Only a real change goes into a live region, so nothing is read out twice.
    if (element.textContent !== text) element.textContent = text;
  }

  function render() {
    const mediaOk = state.media === "on" && state.lost.size === 0;
    let text;
    if (state.media === "starting") text = messages.starting;
    else if (!mediaOk) text = startButton ? messages.notReady : ""; // the alert says what is wrong
    else if (state.live === "lost") text = messages.liveLost;
    else if (state.live !== "connected" || (startButton && !state.serverSees)) text = messages.starting;
    else text = state.recovered ? messages.mediaBack : messages.ready;
    if (state.waiting > WAITING_SHOWN) text = `${text} ${format(messages.recordingWaiting, { count: state.waiting })}`.trim();
    setText(statusBox, text);

    let problem = state.media === "failed" ? state.mediaError : "";
    if (state.media === "on") {
      problem = [state.lost.has("camera") ? messages.cameraLost : "", state.lost.has("microphone") ? messages.microphoneLost : ""]
        .filter(Boolean).join(" ");
    }
    // Emptied when hidden, so the same problem coming back is announced again.
    setText(alertBox, problem);
    alertBox.hidden = !problem;

    const offerRetry = state.media === "failed" || state.lost.size > 0;
    if (retryButton && retryButton.hidden === offerRetry) {
      if (!offerRetry && document.activeElement === retryButton) {
        // The button goes away under the keyboard user: keep their place in the page.
        const target = startButton && !startButton.disabled ? startButton : heading;
        if (target === heading && heading && !heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
        if (target) target.focus();
      }
      retryButton.hidden = !offerRetry;
    }
    if (startButton) startButton.disabled = !(mediaOk && state.live === "connected" && state.serverSees);
  }

  // The server decides whether a part may start: it must receive both picture and sound, which
  // it notices a moment after the connection is up. Ask it, so the button never promises more;
  // and ask about this page's own connection, named in the offer's answer: until the server has
  // that offer, its state is the previous page's connection, which is about to be replaced.
  let liveConnection = null; // the server's id of this page's current live connection
  let pollTimer = null;

  function schedulePoll(ms) {
    if (!startButton) return;
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(pollServer, ms);
  }

  async function pollServer() {
    const asked = liveConnection;
    if (asked !== null) {
      try {
        const url = `${config.liveUrl}?connection=${encodeURIComponent(asked)}`;
        const response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
        if (response.ok) {
          const sees = (await response.json()).sees === true;
          // An answer about a connection this page has since replaced says nothing.
          if (asked === liveConnection && sees !== state.serverSees) { state.serverSees = sees; render(); }
        }
      } catch (error) {
        // Offline: the live channel's own handling says so.
      }
    }
    // Often until the server sees both, then now and then: a whole sitting may be waiting here.
    schedulePoll(state.serverSees ? 10000 : 1000);
  }

  function setLiveConnection(id) {
    if (id === liveConnection) return;
    liveConnection = id;
    if (state.serverSees) { state.serverSees = false; render(); }
    if (id !== null) schedulePoll(0);
  }
  schedulePoll(0);

  let latestWaiting = 0;
  let waitingShownAt = 0;
  let waitingTimer = null;

  function noteWaiting(count) {
    // Crossing the threshold is news at once; the count itself is refreshed at most every 30 s,
    // or a screen reader would read it out with every chunk while the network is down.
    latestWaiting = count;
    window.clearTimeout(waitingTimer);
    waitingTimer = null;
    if (count === state.waiting) return;
    if (count <= WAITING_SHOWN && state.waiting <= WAITING_SHOWN) { state.waiting = count; return; }
    const crossing = (count > WAITING_SHOWN) !== (state.waiting > WAITING_SHOWN);
    const since = Date.now() - waitingShownAt;
    if (crossing || since >= WAITING_REFRESH_MS) {
      state.waiting = count;
      waitingShownAt = Date.now();
      render();
    } else {
      waitingTimer = window.setTimeout(() => noteWaiting(latestWaiting), WAITING_REFRESH_MS - since);
    }
  }

  // ---- events for the proctors --------------------------------------------------------------
  const eventQueue = [];
  const activeStates = new Set();
  let eventsBusy = false;
  let eventsTimer = null;
  let leaving = false;

  function queueEvent(event) {
    eventQueue.push(Object.assign({ part_id: partId, started_at: null, ended_at: null, detail: "" }, event));
    sendEvents();
  }

  function setState(type, active, detail, sinceMs) {
    // A state is reported when it begins and when it ends, never twice in a row.
    if (active === activeStates.has(type)) return;
    const at = isoAt(sinceMs === undefined ? serverNow() : sinceMs);
    if (active) activeStates.add(type); else activeStates.delete(type);
    queueEvent({ type, active, started_at: active ? at : null, ended_at: active ? null : at, detail: detail || "" });
  }

  // A camera or microphone that is off is reported only once it has stayed off for the scheme's
  // reconnect grace: a reload stops both for a moment (and the new page may find the camera
  // still held by the old one), which is no incident. The candidate is told at once all the
  // same; and the server notices by itself what stays off.
  const mediaGraceMs = Math.max(0, Number(config.mediaGraceSeconds) || 0) * 1000;
  const mediaOffTimers = new Map();

  function setMediaOff(type, off, detail) {
    if (off) {
      if (activeStates.has(type) || mediaOffTimers.has(type)) return;
      const since = serverNow();
      mediaOffTimers.set(type, window.setTimeout(() => {
        mediaOffTimers.delete(type);
        if (!leaving) setState(type, true, detail, since);
      }, mediaGraceMs));
    } else if (mediaOffTimers.has(type)) {
      window.clearTimeout(mediaOffTimers.get(type)); // back within the grace: nothing to report
      mediaOffTimers.delete(type);
    } else {
      setState(type, false, detail);
    }
  }

  async function sendEvents() {
    if (eventsBusy) return;
    eventsBusy = true;
    window.clearTimeout(eventsTimer);
    eventsTimer = null;
    try {
      while (eventQueue.length) {
        let response;
        try {
          // keepalive: an event sent just before the page goes still arrives.
          response = await postJson(config.eventsUrl, eventQueue[0], { keepalive: true });
        } catch (networkError) {
          eventsTimer = window.setTimeout(sendEvents, RETRY_MS);
          break;
        }
        if (worthRetrying(response.status)) {
          eventsTimer = window.setTimeout(sendEvents, RETRY_MS);
          break;
        }
        const sent = eventQueue.shift();
        if (!response.ok) console.warn(`Proctoring event ${sent.type} refused (${response.status}): ${await errorText(response)}`);
      }
    } finally {
      eventsBusy = false;
    }
  }

  function sendEventsOnLeave() {
    // The page is going: hand whatever is still queued to the browser to deliver after it.
    const rest = eventQueue.splice(eventsBusy ? 1 : 0);
    for (const event of rest) postJson(config.eventsUrl, event, { keepalive: true }).catch(() => {});
  }

  // ---- the local chunk store (IndexedDB, or memory where the browser refuses it) ------------
  const STORE = "chunks";
  const dbPromise = new Promise((resolve, reject) => {
    const request = indexedDB.open("vakt-media", 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  dbPromise.catch((error) => console.warn("No IndexedDB for the recording; chunks kept in memory only:", error));
  const memoryChunks = new Map();

  async function storeDo(mode, action) {
    const db = await dbPromise;
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request ? request.result : undefined);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }

  async function putChunk(record) {
    try {
      await storeDo("readwrite", (store) => store.put(record));
    } catch (error) {
      // Private browsing or a full disk: keep it at least as long as this page lives.
      console.warn(`Chunk ${record.key} kept in memory only:`, error);
      memoryChunks.set(record.key, record);
    }
  }

  async function allChunks() {
    let stored = [];
    try { stored = await storeDo("readonly", (store) => store.getAll()); } catch (error) { /* memory only */ }
    return stored.concat(Array.from(memoryChunks.values()))
      .sort((a, b) => a.created - b.created || a.index - b.index);
  }

  async function dropChunk(record) {
    memoryChunks.delete(record.key);
    try { await storeDo("readwrite", (store) => store.delete(record.key)); } catch (error) { /* memory only */ }
  }

  async function refreshWaiting() {
    const count = (await allChunks()).length;
    noteWaiting(count);
    // The exam page shows how an oral answer's pieces go up (exam.js).
    document.dispatchEvent(new CustomEvent("vakt:recording-waiting", { detail: { count } }));
  }

  async function waitingIndexes() {
    // The pieces of this part's recording still on this computer, once the newest is stored.
    await storing;
    return (await allChunks()).filter((record) => record.part === partId).map((record) => record.index);
  }

  // ---- chunk numbering: survives a reload of the same part ----------------------------------
  const counterKey = `vakt-media-next/${partId}`;
  let memoryNext = 0;

  function nextIndex() {
    let stored = 0;
    try { stored = Number(window.localStorage.getItem(counterKey)) || 0; } catch (error) { /* no storage */ }
    // nextChunk (optional): how many the server already has, for a part moved to this computer.
    return Math.max(stored, memoryNext, Number(config.nextChunk) || 0);
  }

  function setNextIndex(value) {
    memoryNext = Math.max(memoryNext, value);
    try { window.localStorage.setItem(counterKey, String(Math.max(value, nextIndex()))); } catch (error) { /* memory only */ }
  }

  function takeIndex() {
    // Synchronous, so the chunks keep the order the recorder gave them.
    const index = nextIndex();
    setNextIndex(index + 1);
    return index;
  }

  // ---- uploading, in order, one at a time ---------------------------------------------------
  let pumping = null;
  let pumpAgain = false;
  let pumpTimer = null;

  function schedulePump() {
    if (pumpTimer === null) pumpTimer = window.setTimeout(() => { pumpTimer = null; pump(); }, RETRY_MS);
  }

  async function upload(record) {
    if (!(record.blob instanceof Blob) || record.blob.size === 0 || !record.url) return "dropped";
    let response;
    try {
      response = await timedFetch(record.url, {
        method: "PUT",
        // The recorder's own type (video/webm with its codecs): the server takes WebM only.
        headers: { "Content-Type": record.blob.type || "video/webm", Accept: "application/json", "X-CSRF-Token": config.csrf },
        body: record.blob,
      }, UPLOAD_LIMIT_MS);
    } catch (networkError) {
      return "later";
    }
    if (response.ok) return "stored";
    if (worthRetrying(response.status)) return "later";
    // Refused for good (too big, wrong type, part closed, a different chunk under this number):
    // trying again would never end.
    console.warn(`Recording chunk ${record.key} refused (${response.status}): ${await errorText(response)}`);
    if (response.status === 409 && record.part === partId) setNextIndex(record.index + 1);
    return "dropped";
  }

  function pump() {
    if (pumping) { pumpAgain = true; return pumping; }
    pumping = (async () => {
      try {
        do {
          pumpAgain = false;
          for (const record of await allChunks()) {
            if (await upload(record) === "later") { schedulePump(); return; }
            await dropChunk(record);
            refreshWaiting();
          }
        } while (pumpAgain);
      } finally {
        pumping = null;
        refreshWaiting();
      }
    })();
    return pumping;
  }

  async function drain(deadline) {
    // Offline, waiting cannot help: what is left goes from the next page.
    while (Date.now() < deadline && navigator.onLine) {
      await pump();
      if ((await allChunks()).length === 0) return;
      await sleep(1000);
    }
  }

  // ---- the recorder -------------------------------------------------------------------------
  let stream = null;
  let recorder = null;
  let restartTimer = null;
  let storing = Promise.resolve();
  let finishing = false;

  function recorderOptions() {
    const options = { videoBitsPerSecond: config.videoBitsPerSecond, audioBitsPerSecond: config.audioBitsPerSecond };
    const type = ["video/webm;codecs=vp8,opus", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
    if (type) options.mimeType = type;
    return options;
  }

  // An oral answer's start and end are marked in the recording (exam.js): the piece being
  // recorded is closed there, so the answer begins and ends on a piece's edge.
  let streamFirst = 0; // the number of the piece that begins the current recorder's WebM file
  let streamStartedAt = 0; // performance.now() when that file's time 0 was
  let streamStarted = Promise.resolve(); // settles once the recorder has begun that file
  let streamBegun = false;
  const START_WAIT_MS = 10000; // how long a mark waits for a recorder that has not begun yet
  let cutWaiters = [];

  function keepChunk(blob) {
    const waiters = cutWaiters;
    cutWaiters = [];
    if (!blob || blob.size === 0) { waiters.forEach((resolve) => resolve(null)); return; }
    const index = takeIndex();
    waiters.forEach((resolve) => resolve(index));
    const record = { key: `${partId}/${index}`, part: partId, index, url: config.chunkUrl + index, blob, created: Date.now() };
    storing = storing
      .then(() => putChunk(record))
      .catch((error) => console.warn(`Chunk ${record.key} not stored:`, error))
      .then(() => { refreshWaiting(); pump(); });
  }

  function startRecorder() {
    window.clearTimeout(restartTimer);
    restartTimer = null;
    if (!recording || finishing || leaving || !stream || recorder) return;
    const owner = stream;
    // Record what still works: the sound is worth keeping while the camera is gone.
    const tracks = owner.getTracks().filter((track) => track.readyState === "live");
    if (tracks.length === 0) return; // the retry button starts it again
    let rec;
    try {
      rec = new MediaRecorder(tracks.length === owner.getTracks().length ? owner : new MediaStream(tracks), recorderOptions());
      streamFirst = nextIndex();
      streamStartedAt = performance.now();
      streamBegun = false;
      streamStarted = new Promise((resolve) => {
        rec.addEventListener("start", () => {
          if (recorder === rec) { streamStartedAt = performance.now(); streamBegun = true; }
          resolve();
        }, { once: true });
      });
      rec.start(chunkMs);
    } catch (error) {
      console.warn("The recorder did not start:", error);
      restartTimer = window.setTimeout(startRecorder, RETRY_MS);
      return;
    }
    recorder = rec;
    rec.addEventListener("dataavailable", (event) => keepChunk(event.data));
    rec.addEventListener("error", (event) => console.warn("Recorder error:", event.error || event));
    rec.addEventListener("stop", () => {
      if (recorder !== rec) return; // stopped on purpose
      recorder = null;
      // Stopped by itself: say which device is gone, then go on recording what is left. The new
      // recorder's first chunk starts a new WebM file under the next number.
      for (const track of owner.getTracks()) if (track.readyState === "ended") markLost(track, owner, "ended");
      if (!finishing && !leaving) restartTimer = window.setTimeout(startRecorder, 1000);
    });
  }

  function stopRecorder() {
    window.clearTimeout(restartTimer);
    restartTimer = null;
    const rec = recorder;
    recorder = null;
    if (!rec || rec.state === "inactive") return storing;
    const stopped = new Promise((resolve) => {
      rec.addEventListener("stop", resolve, { once: true });
      try { rec.stop(); } catch (error) { resolve(); }
    });
    // The last dataavailable comes before "stop"; its chunk is stored once storing settles.
    return withLimit(stopped, 3000).then(() => storing);
  }

  // ---- camera and microphone ----------------------------------------------------------------
  let asking = false;

  function mediaErrorText(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") return messages.permissionDenied;
    if (name === "NotFoundError" || name === "OverconstrainedError") return messages.notFound;
    if (name === "NotReadableError") return messages.inUse;
    return format(messages.otherError, { message: (error && (error.message || error.name)) || "" });
  }

  const kindOf = (track) => (track.kind === "video" ? "camera" : "microphone");

  function markLost(track, owner, why) {
    if (stream !== owner) return;
    const kind = kindOf(track);
    setMediaOff(`${kind}_off`, true, why);
    if (!state.lost.has(kind)) { state.lost.add(kind); render(); }
  }

  function watchTrack(track, owner) {
    track.addEventListener("ended", () => markLost(track, owner, "ended"));
    track.addEventListener("mute", () => markLost(track, owner, "muted"));
    track.addEventListener("unmute", () => {
      if (stream !== owner || track.readyState !== "live") return;
      const kind = kindOf(track);
      setMediaOff(`${kind}_off`, false, "unmuted");
      if (state.lost.delete(kind)) { state.recovered = true; render(); }
    });
    if (track.muted) markLost(track, owner, "muted");
  }

  function releaseStream() {
    if (!stream) return;
    const old = stream;
    stream = null;
    old.getTracks().forEach((track) => track.stop());
    selfView.srcObject = null;
  }

  async function startMedia() {
    const hadProblem = state.media === "failed" || state.lost.size > 0;
    state.media = "starting";
    state.lost.clear();
    render();
    asking = true;
    let next;
    try {
      next = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: true });
    } catch (error) {
      console.warn("No camera or microphone:", error);
      state.media = "failed";
      state.mediaError = mediaErrorText(error);
      const why = (error && error.name) || "failed";
      setMediaOff("camera_off", true, why);
      setMediaOff("microphone_off", true, why);
      render();
      return false;
    } finally {
      asking = false;
      // The permission prompt may take the focus; what matters is where it is afterwards.
      if (!leaving && !document.hasFocus()) setState("window_unfocused", true, "");
    }
    stream = next;
    selfView.srcObject = next;
    selfView.play().catch(() => { /* autoplay of a muted video is allowed; nothing to do */ });
    state.media = "on";
    state.recovered = hadProblem;
    setMediaOff("camera_off", false, "");
    setMediaOff("microphone_off", false, "");
    next.getTracks().forEach((track) => watchTrack(track, next));
    render();
    return true;
  }

  // ---- the live channel ---------------------------------------------------------------------
  let peer = null;
  let liveFailures = 0;
  let liveTimer = null;
  let watchTimer = null;

  function liveEncoding() {
    const live = config.live || {};
    const encoding = {};
    for (const name of ["maxFramerate", "scaleResolutionDownBy", "maxBitrate"]) {
      if (typeof live[name] === "number" && live[name] > 0) encoding[name] = live[name];
    }
    return encoding;
  }

  async function applyLiveEncoding(pc) {
    // Already asked for in addTransceiver; set again now that the sender is negotiated, as not
    // every browser honours sendEncodings for a single stream.
    const sender = pc.getSenders().find((s) => s.track && s.track.kind === "video");
    if (!sender) return;
    try {
      const parameters = sender.getParameters();
      if (!parameters.encodings || parameters.encodings.length === 0) return;
      Object.assign(parameters.encodings[0], liveEncoding());
      // The faces must stay large enough to find: when bandwidth or CPU is short, send fewer
      // frames rather than smaller ones (the browser's default scales the picture down first,
      // and starts small until its bandwidth estimate has grown).
      parameters.degradationPreference = "maintain-resolution";
      await sender.setParameters(parameters);
    } catch (error) {
      console.warn("Live encoding parameters not applied:", error);
    }
  }

  function gathered(pc) {
    // No trickle ICE: the offer goes out once with all its candidates.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        window.clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const check = () => { if (pc.iceGatheringState === "complete") done(); };
      const timer = window.setTimeout(done, GATHER_LIMIT_MS); // send what was found so far
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  function closeLive() {
    window.clearTimeout(liveTimer);
    window.clearTimeout(watchTimer);
    liveTimer = null;
    watchTimer = null;
    if (peer) {
      const old = peer;
      peer = null;
      old.close();
    }
    setLiveConnection(null);
  }

  function liveLost(reason) {
    closeLive();
    if (leaving || !stream) return;
    console.warn("Live channel lost:", reason);
    if (state.live !== "lost") { state.live = "lost"; render(); }
    const delay = Math.min(LIVE_MAX_DELAY_MS, 1000 * 2 ** liveFailures);
    liveFailures += 1;
    liveTimer = window.setTimeout(connectLive, delay);
  }

  function watchConnection(pc) {
    if (pc !== peer) return;
    const connection = pc.connectionState;
    if (connection === "connected") {
      window.clearTimeout(watchTimer);
      watchTimer = null;
      liveFailures = 0;
      if (state.live !== "connected") { state.live = "connected"; render(); }
    } else if (connection === "disconnected") {
      window.clearTimeout(watchTimer);
      watchTimer = window.setTimeout(() => {
        if (pc === peer && pc.connectionState !== "connected") liveLost("disconnected");
      }, DISCONNECTED_GRACE_MS);
    } else if (connection === "failed" || connection === "closed") {
      liveLost(connection);
    }
  }

  async function connectLive() {
    closeLive();
    if (leaving || !stream) return;
    const owner = stream;
    let pc;
    try {
      pc = new RTCPeerConnection(Array.isArray(config.iceServers) ? { iceServers: config.iceServers } : undefined);
    } catch (error) {
      liveLost(error);
      return;
    }
    peer = pc;
    pc.addEventListener("connectionstatechange", () => watchConnection(pc));
    try {
      for (const track of owner.getTracks()) {
        const init = { direction: "sendonly", streams: [owner] };
        // The live picture is for watching, not the record: smaller and slower than recorded.
        if (track.kind === "video") init.sendEncodings = [liveEncoding()];
        pc.addTransceiver(track, init);
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      if (pc !== peer) return;
      const response = await postJson(config.liveUrl, { sdp: pc.localDescription.sdp, type: "offer", part_id: partId });
      if (!response.ok) throw new Error(`${response.status}: ${await errorText(response)}`);
      const answer = await response.json();
      if (pc !== peer) return;
      setLiveConnection(typeof answer.connection === "string" ? answer.connection : null);
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      await applyLiveEncoding(pc);
      if (pc !== peer) return;
      watchTimer = window.setTimeout(() => {
        if (pc === peer && pc.connectionState !== "connected") liveLost("no connection");
      }, CONNECT_LIMIT_MS);
      watchConnection(pc);
    } catch (error) {
      if (pc === peer) liveLost(error);
    }
  }

  // ---- starting (and starting again) --------------------------------------------------------
  let restarting = null;

  function startAll() {
    if (restarting) return restarting;
    restarting = (async () => {
      try {
        await stopRecorder();
        closeLive();
        releaseStream();
        if (state.live === "connected") state.live = "connecting";
        if (!(await startMedia()) || leaving) return;
        connectLive();
        startRecorder();
      } finally {
        restarting = null;
      }
    })();
    return restarting;
  }

  // ---- the end of a part --------------------------------------------------------------------
  const FINISH_KEY = "vakt-media-finish";

  function pendingFinishes() {
    try { return JSON.parse(window.localStorage.getItem(FINISH_KEY) || "[]"); } catch (error) { return []; }
  }

  function savePendingFinishes(list) {
    try {
      if (list.length) window.localStorage.setItem(FINISH_KEY, JSON.stringify(list));
      else window.localStorage.removeItem(FINISH_KEY);
    } catch (error) { /* nothing more to do */ }
  }

  async function sendFinish(finish, attempts) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await postJson(finish.url, { last_index: finish.lastIndex }, {}, FINISH_SEND_MS);
        if (response.ok) return true;
        if (!worthRetrying(response.status)) {
          console.warn(`End of recording refused (${response.status}): ${await errorText(response)}`);
          return true; // nothing left to deliver
        }
      } catch (networkError) {
        // try again below
      }
      if (attempt >= attempts || !navigator.onLine) return false;
      await sleep(1000);
    }
  }

  function rememberFinish(finish) {
    savePendingFinishes(pendingFinishes().filter((f) => f.url !== finish.url).concat([finish]));
  }

  function forgetFinish(finish) {
    // Read the list again: another finish may have been added meanwhile.
    savePendingFinishes(pendingFinishes().filter((f) => f.url !== finish.url));
  }

  async function resendFinishes() {
    for (const finish of pendingFinishes()) if (await sendFinish(finish, 1)) forgetFinish(finish);
  }

  let finished = null;

  function finishPart() {
    if (!finished) {
      finished = (async () => {
        finishing = true; // no restarts from here on; the live channel stays until the page goes
        await stopRecorder();
        const lastIndex = nextIndex() - 1;
        if (recording && config.finishUrl && lastIndex >= 0) {
          const finish = { url: config.finishUrl, lastIndex };
          // Remembered first: should the page go before the server answers, the next page sends it.
          rememberFinish(finish);
          await withLimit(sendFinish(finish, 3).then((done) => { if (done) forgetFinish(finish); }), FINISH_SEND_MS);
        }
        // Whatever is not sent by then stays in IndexedDB and goes from the next page.
        await withLimit(drain(Date.now() + FINISH_UPLOAD_MS), FINISH_UPLOAD_MS);
      })().catch((error) => console.warn("Finishing the recording:", error));
    }
    return finished;
  }

  async function cut() {
    // Where the recording is now: {stream, ms, closed}: the piece that begins the WebM file,
    // the time from its start, and the number of the piece closed here (null without one).
    const rec = recorder;
    if (!rec || rec.state !== "recording") return null;
    // The file's time 0 is when the recorder says it began, which may come well after start()
    // on a busy computer: a mark measured before that would lie after a later one.
    await withLimit(streamStarted, START_WAIT_MS);
    if (recorder !== rec || !streamBegun) return null;
    const place = { stream: streamFirst, ms: Math.max(0, Math.round(performance.now() - streamStartedAt)) };
    const closed = new Promise((resolve) => cutWaiters.push(resolve));
    try { rec.requestData(); } catch (error) { return null; }
    const index = await withLimit(closed, 3000);
    place.closed = typeof index === "number" ? index : nextIndex() - 1;
    return place;
  }

  window.vaktProctoring = Object.freeze({ finishPart, cut, waitingIndexes });

  // ---- what the browser tells us ------------------------------------------------------------
  document.addEventListener("visibilitychange", () => {
    if (leaving) return; // leaving the page also hides it
    setState("tab_hidden", document.visibilityState === "hidden", "");
  });

  window.addEventListener("blur", (event) => {
    if (event.target !== window || leaving || asking) return;
    setState("window_unfocused", true, "");
  });
  window.addEventListener("focus", (event) => {
    if (event.target === window) setState("window_unfocused", false, "");
  });

  let wasFullscreen = Boolean(document.fullscreenElement);
  document.addEventListener("fullscreenchange", () => {
    if (document.fullscreenElement) {
      wasFullscreen = true;
      setState("fullscreen_left", false, "");
    } else if (wasFullscreen && !leaving) {
      setState("fullscreen_left", true, "");
    }
  });

  document.addEventListener("paste", (event) => {
    // What was pasted stays private; how much, and when (the recording shows where), is enough
    // for a proctor.
    const text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    const now = isoAt(serverNow());
    queueEvent({ type: "paste", active: true, started_at: now, ended_at: now, characters: text.length });
  }, true);

  function checkScreens() {
    if (typeof window.screen.isExtended === "boolean") setState("second_screen", window.screen.isExtended, "");
  }
  if (typeof window.screen.addEventListener === "function") window.screen.addEventListener("change", checkScreens);

  let offlineSince = navigator.onLine ? null : serverNow();
  window.addEventListener("offline", () => {
    if (offlineSince === null) offlineSince = serverNow();
  });
  window.addEventListener("online", () => {
    if (offlineSince !== null) {
      queueEvent({ type: "network_loss", active: false, started_at: isoAt(offlineSince), ended_at: isoAt(serverNow()), detail: "" });
      offlineSince = null;
    }
    sendEvents();
    pump();
    resendFinishes();
    if (state.live === "lost" && stream && !leaving) { liveFailures = 0; connectLive(); }
  });

  window.addEventListener("pagehide", () => {
    leaving = true;
    sendEventsOnLeave();
    // The last piece is kept if the page lives long enough to store it; otherwise it is lost.
    const rec = recorder;
    recorder = null;
    if (rec && rec.state !== "inactive") { try { rec.stop(); } catch (error) { /* gone already */ } }
    closeLive();
    // Free the camera at once: the next page asks for it again.
    releaseStream();
  });
  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    leaving = false; // back from the back/forward cache
    startAll();
  });

  if (retryButton) retryButton.addEventListener("click", () => startAll());
  if (startButton && startButton.form) {
    startButton.form.addEventListener("submit", (event) => { if (startButton.disabled) event.preventDefault(); });
  }

  // ---- start --------------------------------------------------------------------------------
  render();
  if (document.visibilityState === "hidden") setState("tab_hidden", true, "");
  checkScreens();
  syncClock();
  window.setInterval(syncClock, 5 * 60000);
  resendFinishes();
  pump(); // chunks left from earlier pages or parts
  if (!navigator.mediaDevices || !window.MediaRecorder || !window.RTCPeerConnection) {
    state.media = "failed";
    state.mediaError = format(messages.otherError, { message: "MediaDevices, MediaRecorder, RTCPeerConnection" });
    render();
  } else {
    const section = document.getElementById("proctoring");
    startAll().then(() => { if (section) section.dataset.ready = "true"; });
  }
})();
