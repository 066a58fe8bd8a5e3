// The exam page: autosave with an offline queue in IndexedDB, a countdown that follows the
// server's clock, flags, the overview and the hand-in. The server decides everything that
// matters (deadlines, what is saved); this script only makes sure nothing typed is lost.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("exam-config").textContent);
  const messages = config.messages;
  const form = document.getElementById("answers");
  const partId = config.part;
  const saveState = document.getElementById("save-state");
  const announcer = document.getElementById("announcer");
  const alertBox = document.getElementById("exam-alert");
  const SAVE_DELAY_MS = 800; // well inside the 2 s promise, while a typist is mid-word
  const RETRY_MS = 3000;

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
  }

  function announce(text) {
    // Re-setting the same text would not be announced again; clear it first.
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function showAlert(text) {
    alertBox.textContent = text;
    alertBox.hidden = false;
  }

  // ---- the server's clock -------------------------------------------------------------------
  let clockOffset = Date.parse(config.serverTime) - Date.now();
  const serverNow = () => Date.now() + clockOffset;

  async function syncClock() {
    // The part's clock is also the page's sign of life: answers lost in a network failure may
    // arrive only so long after the last one.
    try {
      const sent = Date.now();
      const response = await fetch(config.clockUrl, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      const received = Date.now();
      const offset = Date.parse(body.server_time) + (received - sent) / 2 - received;
      if (Number.isFinite(offset)) clockOffset = offset;
      if (body.submitted_at && !closed && !expired && Date.parse(body.submitted_at) < deadline) {
        // Closed before its time by someone else: the exam staff ended the attempt. The page
        // shows why (at the deadline the page hands in by itself, sending what waits first).
        closed = true;
        window.location.reload();
        return;
      }
      applyPause(body);
    } catch (error) {
      // Offline: keep the last offset; the countdown goes on.
    }
  }

  // ---- the local store (IndexedDB) ----------------------------------------------------------
  const STORE = "pending";
  const dbPromise = new Promise((resolve, reject) => {
    const request = indexedDB.open("vakt-exam", 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

  async function storeDo(mode, action) {
    const db = await dbPromise;
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request ? request.result : undefined);
      transaction.onerror = () => reject(transaction.error);
    });
  }
  const putPending = (record) => storeDo("readwrite", (store) => store.put(record));
  // Answers and flag changes wait in the same store; a flag change has kind "flag".
  const allRecords = async () => (await storeDo("readonly", (store) => store.getAll())).filter((r) => r.part === partId);
  const allPending = async () => (await allRecords()).filter((r) => r.kind !== "flag");
  const pendingFlags = async () => (await allRecords()).filter((r) => r.kind === "flag");
  async function removeIfUnchanged(record) {
    const db = await dbPromise;
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, "readwrite");
      const store = transaction.objectStore(STORE);
      const request = store.get(record.key);
      request.onsuccess = () => {
        // A newer change may have been stored while this one was on its way: keep that.
        if (request.result && request.result.sequence === record.sequence) store.delete(record.key);
      };
      transaction.oncomplete = () => resolve();
      transaction.onerror = () => reject(transaction.error);
    });
  }

  // A JSON request to the exam API, with the form's CSRF token.
  function sendJson(method, url, body) {
    return fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": config.csrf, Accept: "application/json" },
      body: JSON.stringify(body),
    });
  }

  async function send(record) {
    const url = `/api/parts/${record.part}/answers/${record.itemVersion}/${encodeURIComponent(record.question)}`;
    return sendJson("PUT", url, { sequence: record.sequence, value: record.value, changed_at: record.changedAt || null });
  }

  // ---- after a hand-in: answers that are still on this computer ----------------------------
  // The part was handed in at its deadline while answers typed before it waited here (the
  // connection was lost, then the page was reloaded). They are sent now: the server takes what
  // was typed in time, keeps the rest on record, and issues the receipt again.
  if (!form) {
    // Flags of a closed part no longer matter: leave none behind on this computer.
    pendingFlags().then((records) => records.forEach((record) => storeDo("readwrite", (store) => store.delete(record.key))));
    let delivered = false;
    const deliver = async () => {
      for (const record of await allPending()) {
        let response;
        try {
          response = await send(record);
        } catch (networkError) {
          saveState.textContent = format(messages.deliveryWaiting, { count: (await allPending()).length });
          window.setTimeout(deliver, RETRY_MS);
          return;
        }
        if (response.status >= 500 || response.status === 429) {
          window.setTimeout(deliver, RETRY_MS);
          return;
        }
        await removeIfUnchanged(record); // taken, or refused and kept on record by the server
        delivered = delivered || response.ok;
      }
      if (delivered) window.location.reload(); // the receipt issued again
      else saveState.textContent = "";
    };
    window.addEventListener("online", deliver);
    deliver();
    return;
  }

  // ---- reading and writing answers in the page ----------------------------------------------
  const questions = Array.from(form.querySelectorAll(".question[data-question]"));
  const keyOf = (section) => `${partId}/${section.closest(".exam-item").dataset.itemVersion}/${section.dataset.question}`;

  // Oral questions the server counts as answered: recorded, and their pieces all on the server.
  const oralAnswered = new Set();

  function valueOf(section) {
    const type = section.dataset.type;
    if (type === "oral") return oralAnswered.has(keyOf(section)) ? "recorded" : "";
    if (type === "single_choice") {
      const checked = section.querySelector("input[type=radio]:checked");
      return checked ? checked.value : null;
    }
    if (type === "multiple_response") {
      return Array.from(section.querySelectorAll("input[type=checkbox]:checked")).map((i) => i.value);
    }
    if (type === "essay") return section.querySelector("textarea").value;
    return undefined;
  }

  function setValue(section, value) {
    const type = section.dataset.type;
    if (type === "single_choice") {
      section.querySelectorAll("input[type=radio]").forEach((i) => { i.checked = i.value === value; });
    } else if (type === "multiple_response") {
      const chosen = new Set(Array.isArray(value) ? value : []);
      section.querySelectorAll("input[type=checkbox]").forEach((i) => { i.checked = chosen.has(i.value); });
    } else if (type === "essay") {
      section.querySelector("textarea").value = typeof value === "string" ? value : "";
    }
  }

  const isAnswered = (section) => {
    const value = valueOf(section);
    return Array.isArray(value) ? value.length > 0 : typeof value === "string" ? value.trim() !== "" : false;
  };

  const countWords = (text) => (text.trim() ? text.trim().split(/\s+/u).length : 0);
  function updateWordCount(section) {
    const output = section.querySelector(".word-count");
    if (!output) return;
    const count = countWords(section.querySelector("textarea").value);
    const limit = Number(section.dataset.wordLimit || 0);
    output.textContent = limit && count > limit ? format(messages.wordsOver, { count, limit }) : format(messages.words, { count });
    output.classList.toggle("over-limit", Boolean(limit && count > limit));
  }

  // ---- saving -------------------------------------------------------------------------------
  const lastSequence = new Map();
  let waiting = 0;
  let online = navigator.onLine;
  let flushing = false;
  let flushAgain = false;
  let timer = null;
  let closed = false;
  let expired = false; // the time is up: nothing more can be typed, what waits is still sent

  function nextSequence(key) {
    // Time-based, so a later change on another computer still counts as newer.
    const sequence = Math.max(Math.floor(serverNow()), (lastSequence.get(key) || 0) + 1);
    lastSequence.set(key, sequence);
    return sequence;
  }

  function showSaveState() {
    if (waiting > 0 && !online) {
      saveState.textContent = format(messages.waiting, { count: waiting });
      saveState.classList.add("offline");
    } else if (waiting > 0) {
      saveState.textContent = messages.saving;
    }
  }

  function showSaved(at) {
    const time = new Date(at).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    saveState.textContent = format(messages.saved, { time });
    saveState.classList.remove("offline");
  }

  function scheduleFlush(delay) {
    if (timer === null) timer = window.setTimeout(() => { timer = null; flush(); }, delay);
  }

  async function recordChange(section) {
    if (closed || expired) return;
    const key = keyOf(section);
    const record = {
      key,
      part: partId,
      itemVersion: Number(section.closest(".exam-item").dataset.itemVersion),
      question: section.dataset.question,
      value: valueOf(section),
      sequence: nextSequence(key),
      // When the change was made, by the server's clock: typed before the deadline, it counts
      // even if the connection is lost and it arrives later.
      changedAt: new Date(serverNow()).toISOString(),
    };
    await putPending(record);
    waiting = (await allPending()).length;
    showSaveState();
    updateOverview();
    scheduleFlush(section.dataset.type === "essay" ? SAVE_DELAY_MS : 100);
  }

  function setOnline(value) {
    if (online === value) return;
    online = value;
    announce(value ? messages.online : messages.offline);
    if (value) saveState.classList.remove("offline");
    showSaveState();
  }

  async function flush() {
    if (flushing) { flushAgain = true; return; }
    flushing = true;
    try {
      do {
        flushAgain = false;
        for (const record of await allPending()) {
          let response;
          try {
            response = await send(record);
          } catch (networkError) {
            setOnline(false);
            break;
          }
          setOnline(true);
          if (response.ok) {
            await removeIfUnchanged(record);
          } else if (response.status >= 500 || response.status === 429) {
            break; // the server is struggling: keep the answer and try again shortly
          } else {
            // Refused for good (time up, handed in, impossible value): say so and stop trying.
            let message = response.statusText;
            try { message = (await response.json()).error.message; } catch (e) { /* keep status text */ }
            await removeIfUnchanged(record);
            showAlert(format(messages.refused, { message }));
            if (expired) continue; // the rest of the queue may still count; the server kept this one
            if (response.status === 409) {
              // The part is closed (handed in elsewhere, time up, or the attempt ended): show
              // the page as the server now has it, with the receipt or the reason.
              closed = true;
              window.setTimeout(() => window.location.reload(), 4000);
            }
          }
        }
      } while (flushAgain);
    } finally {
      flushing = false;
      waiting = (await allPending()).length;
      if (expired) {
        describeDeadline();
      } else if (waiting === 0) {
        showSaved(serverNow());
      } else {
        showSaveState();
        scheduleFlush(RETRY_MS);
      }
    }
  }

  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("input", (event) => {
    const section = event.target.closest(".question[data-question]");
    if (!section) return;
    if (section.dataset.type === "essay") updateWordCount(section);
    recordChange(section);
  });
  window.addEventListener("online", () => { setOnline(true); flush(); flushFlags(); });
  window.addEventListener("offline", () => setOnline(false));

  // ---- flags, overview and moving between questions -----------------------------------------
  // Flags are kept on the server with the answers (so they follow the candidate to another
  // computer); a change waits in the local store until the server has it, like an answer.
  const items = Array.from(form.querySelectorAll(".exam-item"));
  const flags = new Set(); // item numbers, as in the page
  const overviewSummary = document.getElementById("overview-summary");
  const flagKeyOf = (version) => `flag/${partId}/${version}`;
  const itemByVersion = (version) => items.find((item) => item.dataset.itemVersion === String(version));
  let flagsFlushing = false;
  let flagsAgain = false;
  let flagTimer = null;

  function sendFlag(record) {
    return sendJson("PUT", `/api/parts/${record.part}/flags/${record.itemVersion}`, { flagged: record.flagged, sequence: record.sequence });
  }

  async function flushFlags() {
    if (flagsFlushing) { flagsAgain = true; return; }
    flagsFlushing = true;
    let retry = false;
    try {
      do {
        flagsAgain = false;
        for (const record of await pendingFlags()) {
          let response;
          try {
            response = await sendFlag(record);
          } catch (networkError) {
            retry = true;
            break;
          }
          if (response.status >= 500 || response.status === 429) { retry = true; break; }
          let body = null;
          try { body = await response.json(); } catch (e) { /* no body to read */ }
          if (response.ok) {
            // A newer change from another computer won: show the flag the server holds.
            if (body && !body.applied) settleFlag(record, Boolean(body.flagged), body.sequence);
          } else {
            // Refused for good (the part closed, paused or the time is up): say so, stop trying,
            // and show the flag as it was.
            const message = (body && body.error && body.error.message) || response.statusText;
            showAlert(format(messages.flagRefused, { message }));
            settleFlag(record, !record.flagged, record.sequence);
          }
          await removeIfUnchanged(record);
        }
      } while (flagsAgain && !retry);
    } finally {
      flagsFlushing = false;
      if (retry && flagTimer === null) flagTimer = window.setTimeout(() => { flagTimer = null; flushFlags(); }, RETRY_MS);
    }
  }

  function settleFlag(record, flagged, sequence) {
    // Only when no later change was made on this computer meanwhile (that one is on its way).
    if (lastSequence.get(record.key) !== record.sequence) return;
    const item = itemByVersion(record.itemVersion);
    if (!item) return;
    if (Number.isFinite(sequence)) lastSequence.set(record.key, Math.max(sequence, record.sequence));
    if (flagged) flags.add(item.dataset.item); else flags.delete(item.dataset.item);
    updateOverview();
  }

  async function toggleFlag(number) {
    if (closed || expired) return;
    const item = items.find((i) => i.dataset.item === String(number));
    if (!item) return;
    const flagged = !flags.has(number);
    if (flagged) flags.add(number); else flags.delete(number);
    updateOverview();
    const key = flagKeyOf(item.dataset.itemVersion);
    await putPending({ key, kind: "flag", part: partId, itemVersion: Number(item.dataset.itemVersion), flagged, sequence: nextSequence(key) });
    flushFlags();
  }

  async function restoreFlags() {
    // The server's flags, then any newer change still waiting on this computer.
    for (const [version, held] of Object.entries(config.flags || {})) {
      const item = itemByVersion(version);
      if (!item) continue;
      lastSequence.set(flagKeyOf(version), held.sequence);
      if (held.flagged) flags.add(item.dataset.item);
    }
    const waitingFlags = [];
    for (const record of await pendingFlags()) {
      const item = itemByVersion(record.itemVersion);
      if (item && record.sequence > (lastSequence.get(record.key) || 0)) {
        lastSequence.set(record.key, record.sequence);
        if (record.flagged) flags.add(item.dataset.item); else flags.delete(item.dataset.item);
        waitingFlags.push(record);
      } else {
        await removeIfUnchanged(record);
      }
    }
    if (waitingFlags.length) flushFlags();
  }

  function updateOverview() {
    let unanswered = 0;
    let total = 0;
    items.forEach((item) => {
      const number = item.dataset.item;
      const sections = Array.from(item.querySelectorAll(".question[data-question]"));
      const answerable = sections.filter((s) => valueOf(s) !== undefined);
      const answered = answerable.length > 0 && answerable.every(isAnswered);
      total += answerable.length;
      unanswered += answerable.filter((s) => !isAnswered(s)).length;
      const partly = !answered && answerable.some(isAnswered);
      const link = document.querySelector(`.overview-link[data-item="${number}"]`);
      // The tile says its state in words (its accessible name too); colour only repeats it.
      link.querySelector(".tile-answer").textContent = answerable.length
        ? (answered ? messages.statusAnswered : partly ? messages.statusPartly : messages.statusUnanswered)
        : "";
      link.querySelector(".tile-flag").hidden = !flags.has(number);
      link.classList.toggle("answered", answered);
      link.classList.toggle("partly", partly);
      link.classList.toggle("flagged", flags.has(number));
      const button = item.querySelector(".flag");
      button.setAttribute("aria-pressed", flags.has(number) ? "true" : "false");
    });
    const summary = unanswered ? format(messages.unanswered, { count: unanswered, total }) : messages.allAnswered;
    overviewSummary.textContent = flags.size ? `${summary} ${format(messages.flagged, { count: flags.size })}` : summary;
    return { unanswered, total };
  }

  // On a phone the tiles are one row that scrolls sideways (vakt.css): the current question's
  // tile is brought into it, without moving the page.
  function keepInRow(link) {
    const row = link.closest(".tiles");
    const rowBox = row.getBoundingClientRect();
    const box = link.getBoundingClientRect();
    if (box.left < rowBox.left || box.right > rowBox.right) {
      row.scrollLeft += box.left - rowBox.left - (rowBox.width - box.width) / 2;
    }
  }

  function show(number, focus) {
    items.forEach((item) => { item.hidden = item.dataset.item !== String(number); });
    document.querySelectorAll(".overview-link").forEach((link) => {
      if (link.dataset.item === String(number)) {
        link.setAttribute("aria-current", "step");
        keepInRow(link);
      } else link.removeAttribute("aria-current");
    });
    if (focus) document.getElementById(`item-heading-${number}`).focus();
  }

  const tiles = Array.from(document.querySelectorAll(".overview-link"));
  tiles.forEach((link, index) => {
    link.addEventListener("click", (event) => { event.preventDefault(); show(link.dataset.item, true); });
    // Arrow keys, Home and End move between the tiles; Enter opens the question (Tab still works).
    link.addEventListener("keydown", (event) => {
      const moves = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1, Home: 0, End: tiles.length - 1 };
      if (!(event.key in moves) || event.altKey || event.ctrlKey || event.metaKey) return;
      event.preventDefault();
      tiles[Math.min(tiles.length - 1, Math.max(0, moves[event.key]))].focus();
    });
  });
  form.addEventListener("click", (event) => {
    const go = event.target.closest("[data-go]");
    if (go) show(go.dataset.go, true);
    const flag = event.target.closest("[data-flag]");
    if (flag) toggleFlag(flag.dataset.flag);
  });

  // ---- countdown ----------------------------------------------------------------------------
  // The deadline moves when a proctor's pause ends (the server says so through the clock).
  let deadline = Date.parse(config.deadline);
  let paused = Boolean(config.paused);
  const timeLeft = document.getElementById("time-left");
  const warnings = [
    { at: 5 * 60 * 1000, text: messages.fiveMinutes },
    { at: 60 * 1000, text: messages.oneMinute },
  ];
  const warned = new Set(warnings.filter((w) => deadline - serverNow() <= w.at).map((w) => w.at));
  const warningBox = document.getElementById("time-warning");
  let handingIn = false;

  function showWarning(text) {
    // Visible until dismissed (or the next warning replaces it); read out by the announcer only.
    document.getElementById("time-warning-text").textContent = text;
    warningBox.hidden = false;
    timeLeft.parentElement.classList.add("timer-warning");
  }

  document.getElementById("time-warning-dismiss").addEventListener("click", () => {
    warningBox.hidden = true;
    // The button is gone: give the focus back to the question on screen.
    const shown = items.find((item) => !item.hidden);
    if (shown) document.getElementById(`item-heading-${shown.dataset.item}`).focus();
  });
  {
    // Opened (or reloaded) inside a warning's window: show it, without reading it out again.
    const passed = warnings.filter((w) => warned.has(w.at));
    if (passed.length && deadline > serverNow()) showWarning(passed[passed.length - 1].text);
  }

  function applyPause(body) {
    const nowPaused = Boolean(body.paused);
    if (!nowPaused && body.deadline) deadline = Date.parse(body.deadline);
    if (nowPaused === paused) return;
    paused = nowPaused;
    showPause();
    // Announced once, politely, when it changes (the timer itself is never read out).
    announce(paused ? messages.paused : messages.resumed);
    tick();
  }

  function showPause() {
    timeLeft.dataset.paused = paused ? "true" : "false";
    timeLeft.parentElement.classList.toggle("timer-paused", paused);
  }

  function tick() {
    if (paused) {
      timeLeft.textContent = messages.pausedShort;
      return;
    }
    const left = Math.max(0, deadline - serverNow());
    const seconds = Math.ceil(left / 1000);
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    // The visible clock changes every second, but only the warnings are announced.
    timeLeft.textContent = h ? `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}` : `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
    for (const warning of warnings) {
      if (left <= warning.at && !warned.has(warning.at)) {
        warned.add(warning.at);
        announce(warning.text);
        showWarning(warning.text);
      }
    }
    if (left <= 0 && !handingIn) {
      handingIn = true;
      finishAtDeadline();
    }
  }

  // ---- the deadline -------------------------------------------------------------------------
  const answerInputs = () => Array.from(form.querySelectorAll("input, textarea"));

  function lockAnswers() {
    // Nothing typed after the deadline counts: the page says so by not taking it.
    oralPanels.forEach((panel) => panel.lock());
    answerInputs().forEach((input) => {
      if (input.tagName === "TEXTAREA") input.readOnly = true; else input.disabled = true;
      input.setAttribute("aria-readonly", "true");
    });
  }

  function describeDeadline() {
    const answered = questions.filter(isAnswered).length;
    const text = waiting > 0
      ? format(messages.deadlineWaiting, { saved: Math.max(0, answered - waiting), waiting, minutes: config.lateWindowMinutes })
      : messages.deadlineSaved;
    saveState.textContent = text;
    saveState.classList.toggle("offline", waiting > 0 && !online);
    return text;
  }

  function whenOnlineOrAfter(ms) {
    return new Promise((resolve) => {
      const done = () => { window.clearTimeout(timerId); window.removeEventListener("online", done); resolve(); };
      const timerId = window.setTimeout(done, ms);
      window.addEventListener("online", done);
    });
  }

  async function finishAtDeadline() {
    expired = true;
    window.clearTimeout(timer);
    timer = null;
    lockAnswers();
    waiting = (await allPending()).length;
    showAlert(`${messages.timeUp} ${describeDeadline()}`);
    // Everything typed before the deadline goes to the server first, however long the
    // connection takes to come back; only then is the part handed in and the page cleared.
    for (;;) {
      await flush();
      waiting = (await allPending()).length;
      describeDeadline();
      if (waiting === 0) break;
      await whenOnlineOrAfter(RETRY_MS);
    }
    announce(messages.deadlineDelivered);
    await handIn(true);
  }

  // ---- the oral answer: preparation, recording, upload ----------------------------------------
  // The part's recording (proctor.js) runs all along; the answer is the stretch between the
  // marks sent here. The clocks tick silently; the announcer reads out a few moments only.
  const oralPanels = [];
  const ORAL_NOTICE_AT = 10; // seconds left worth announcing (when the stretch is longer)

  const clockText = (seconds) => {
    const whole = Math.max(0, Math.ceil(seconds));
    return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
  };

  async function oralPost(url, body) {
    const response = await sendJson("POST", url, body);
    let answer = null;
    try { answer = await response.json(); } catch (error) { /* no body */ }
    if (!response.ok) throw new Error((answer && answer.error && answer.error.message) || response.statusText);
    return answer;
  }

  function setupOral(section) {
    const box = section.querySelector(".oral");
    if (!box) return;
    const version = section.closest(".exam-item").dataset.itemVersion;
    const question = section.dataset.question;
    const key = keyOf(section);
    const base = `/api/parts/${partId}/oral/${version}/${encodeURIComponent(question)}`;
    const preparation = Number(box.dataset.preparation) || 0;
    const longest = Number(box.dataset.max) || 0;
    const phase = box.querySelector(".oral-phase");
    const phaseText = box.querySelector(".oral-phase-text");
    const clock = box.querySelector(".oral-clock");
    const prepareButton = box.querySelector(".oral-prepare");
    const recordButton = box.querySelector(".oral-record");
    const stopButton = box.querySelector(".oral-stop");
    const upload = box.querySelector(".oral-upload");
    const progress = upload.querySelector("progress");
    const uploadText = box.querySelector(".oral-upload-text");
    const errorBox = box.querySelector(".oral-error");
    phase.tabIndex = -1;
    const panel = { key, recording: false, stop: null, lock: null };
    let ticker = null;
    let take = null; // the server's take: {take, start, end}
    let retakesLeft = 0;

    function showPhase(name, text) {
      phase.dataset.phase = name;
      phaseText.textContent = text;
    }

    function showButtons(which) {
      // Focus follows the candidate's next step when the button they were on goes away.
      const hadFocus = box.contains(document.activeElement);
      if (prepareButton) prepareButton.hidden = !which.includes("prepare");
      recordButton.hidden = !which.includes("record");
      stopButton.hidden = !which.includes("stop");
      if (hadFocus && (!document.activeElement || document.activeElement.hidden || !box.contains(document.activeElement))) {
        const next = [stopButton, recordButton, prepareButton].find((b) => b && !b.hidden) || phase;
        next.focus();
      }
    }

    function showError(text) {
      errorBox.textContent = text;
      errorBox.hidden = !text;
    }

    function countdown(seconds, render, notice, done) {
      window.clearInterval(ticker);
      const endAt = performance.now() + seconds * 1000;
      let noticed = false;
      const step = () => {
        const left = (endAt - performance.now()) / 1000;
        render(left);
        if (!noticed && seconds > 2 * ORAL_NOTICE_AT && left <= ORAL_NOTICE_AT) { noticed = true; announce(notice); }
        if (left <= 0) { window.clearInterval(ticker); ticker = null; done(); }
      };
      ticker = window.setInterval(step, 250);
      step();
    }

    function prepare() {
      showError("");
      showPhase("preparing", messages.oralPreparing);
      showButtons(["record"]);
      recordButton.textContent = messages.oralAnswerNow;
      announce(format(messages.oralPreparationStarted, { seconds: preparation }));
      countdown(preparation, (left) => { clock.textContent = format(messages.oralPreparationLeft, { time: clockText(left) }); },
        format(messages.oralPreparationNotice, { seconds: ORAL_NOTICE_AT }), () => record());
    }

    // Busy buttons say so (aria-disabled) but keep the keyboard focus, which a disabled
    // button would drop to the page's start.
    function busy(button, value) {
      if (value) button.setAttribute("aria-disabled", "true"); else button.removeAttribute("aria-disabled");
    }
    const isBusy = (button) => button.getAttribute("aria-disabled") === "true";

    async function record() {
      if (isBusy(recordButton)) return;
      window.clearInterval(ticker);
      ticker = null;
      showError("");
      busy(recordButton, true);
      const place = window.vaktProctoring ? await window.vaktProctoring.cut() : null;
      if (!place) {
        busy(recordButton, false);
        showError(messages.oralNoRecording);
        showReady();
        return;
      }
      try {
        take = await oralPost(`${base}/start`, { mark: { stream: place.stream, ms: place.ms, chunk: place.closed + 1 } });
      } catch (error) {
        busy(recordButton, false);
        showError(format(messages.oralRefused, { message: error.message }));
        showReady();
        return;
      }
      busy(recordButton, false);
      // A retake replaces the answer: it counts again once this recording is on the server.
      if (oralAnswered.delete(key)) updateOverview();
      recordingFor(longest);
    }

    function recordingFor(seconds) {
      panel.recording = true;
      showPhase("recording", messages.oralRecording);
      showButtons(["stop"]);
      announce(format(messages.oralRecordingStarted, { seconds: longest }));
      countdown(seconds, (left) => { clock.textContent = format(messages.oralTimeLeft, { time: clockText(left) }); },
        format(messages.oralRecordingNotice, { seconds: ORAL_NOTICE_AT }), () => stop());
    }

    async function stop() {
      if (!panel.recording) return;
      panel.recording = false;
      window.clearInterval(ticker);
      ticker = null;
      busy(stopButton, true);
      const place = window.vaktProctoring ? await window.vaktProctoring.cut() : null;
      const mark = place
        ? { stream: place.stream, ms: place.ms, chunk: Math.max(place.closed, take.start.chunk) }
        : { stream: take.start.stream, ms: take.start.ms + longest * 1000, chunk: take.start.chunk };
      for (;;) {
        try {
          take = await oralPost(`${base}/stop`, { take: take.take, mark });
          break;
        } catch (error) {
          if (navigator.onLine) {
            // Refused (paused, say): the recording is still open; the candidate may stop again.
            busy(stopButton, false);
            showError(format(messages.oralRefused, { message: error.message }));
            panel.recording = true;
            return;
          }
          await whenOnlineOrAfter(RETRY_MS);
        }
      }
      busy(stopButton, false);
      clock.textContent = "";
      showPhase("recorded", messages.oralRecorded);
      showButtons([]);
      announce(messages.oralStopped);
      await followUpload();
    }
    panel.stop = stop;

    async function followUpload() {
      // The pieces of the answer go up (proctor.js keeps them until the server has each).
      if (!take || !take.end) return;
      upload.hidden = false;
      const first = take.end ? take.start.chunk : 0;
      const last = take.end.chunk;
      const total = last - first + 1;
      for (;;) {
        const waitingHere = window.vaktProctoring
          ? (await window.vaktProctoring.waitingIndexes()).filter((i) => i >= first && i <= last).length
          : 0;
        progress.max = total;
        progress.value = total - waitingHere;
        uploadText.textContent = waitingHere && !navigator.onLine
          ? format(messages.oralWaitingOffline, { count: waitingHere })
          : format(messages.oralUploaded, { done: total - waitingHere, total });
        if (waitingHere === 0 && await refreshOral()) break;
        await new Promise((resolve) => {
          const done = () => { window.clearTimeout(timerId); document.removeEventListener("vakt:recording-waiting", done); resolve(); };
          const timerId = window.setTimeout(done, 2000);
          document.addEventListener("vakt:recording-waiting", done);
        });
      }
    }

    async function refreshOral() {
      try {
        const response = await fetch(`/api/parts/${partId}/oral`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return false;
        const body = await response.json();
        const mine = body.answers.find((a) => String(a.item_version_id) === version && a.question_id === question);
        if (!mine || !mine.answered) return false;
        retakesLeft = mine.retakes_left;
        showAnswered(true);
        return true;
      } catch (error) {
        return false;
      }
    }

    function showAnswered(news) {
      oralAnswered.add(key);
      showPhase("recorded", messages.oralReceived);
      uploadText.textContent = messages.oralReceived;
      progress.value = progress.max;
      if (retakesLeft > 0) {
        recordButton.textContent = format(messages.oralRetake, { count: retakesLeft });
        showButtons(["record"]);
      } else {
        showButtons([]);
      }
      if (news) announce(messages.oralReceived);
      updateOverview();
    }

    function showReady() {
      showPhase("ready", messages.oralNotStarted);
      clock.textContent = "";
      showButtons(preparation ? ["prepare", "record"] : ["record"]);
      if (preparation) recordButton.textContent = messages.oralAnswerNow;
    }

    if (prepareButton) prepareButton.addEventListener("click", prepare);
    recordButton.addEventListener("click", () => record());
    stopButton.addEventListener("click", () => stop());
    panel.lock = () => {
      window.clearInterval(ticker);
      [prepareButton, recordButton, stopButton].forEach((b) => { if (b) b.disabled = true; });
    };

    // Where it stood on the server (a reload, another computer).
    const saved = (config.oral || {})[`${version}/${question}`];
    box.hidden = false;
    if (!saved) {
      if (prepareButton) { prepareButton.hidden = false; recordButton.hidden = true; } else showReady();
    } else if (saved.state === "recording") {
      take = saved.take_detail;
      const left = longest - (serverNow() - Date.parse(saved.started_at)) / 1000;
      panel.recording = true;
      if (left > 0) recordingFor(left); else stop();
    } else {
      take = saved.take_detail;
      retakesLeft = saved.retakes_left;
      if (saved.answered) showAnswered(false);
      else { showPhase("recorded", messages.oralRecorded); showButtons([]); followUpload(); }
    }
    oralPanels.push(panel);
  }

  async function stopOralRecordings() {
    await Promise.all(oralPanels.filter((p) => p.recording).map((p) => p.stop()));
  }

  // ---- hand-in ------------------------------------------------------------------------------
  const dialog = document.getElementById("hand-in-dialog");
  const dialogText = document.getElementById("hand-in-text");

  async function handIn(timeUp) {
    await stopOralRecordings();
    if (!timeUp) {
      await flush();
      if ((await allPending()).length > 0) {
        showAlert(format(messages.stillWaiting, { count: (await allPending()).length }));
        return;
      }
    }
    closed = true;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const response = await fetch(`/api/parts/${partId}/submit`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": config.csrf, Accept: "application/json" },
        });
        if (response.ok || response.status === 409) break;
        let message = response.statusText;
        try { message = (await response.json()).error.message; } catch (e) { /* keep status text */ }
        if (response.status < 500) { showAlert(format(messages.handInFailed, { message })); closed = false; return; }
      } catch (networkError) {
        setOnline(false);
      }
      // At the deadline the server hands the part in by itself; keep trying to show the receipt.
      await new Promise((resolve) => window.setTimeout(resolve, Math.min(10000, 1000 * (attempt + 1))));
    }
    // The recording of the part ends with it; what cannot be sent now is sent from the next page.
    if (window.vaktProctoring) {
      try { await window.vaktProctoring.finishPart(); } catch (error) { /* the queue keeps it */ }
    }
    // The part is closed: leave no answers or flags behind on this computer (it may be shared).
    for (const record of await allRecords()) await storeDo("readwrite", (store) => store.delete(record.key));
    window.location.reload();
  }

  document.getElementById("hand-in").addEventListener("click", () => {
    const { unanswered, total } = updateOverview();
    dialogText.textContent = unanswered ? format(messages.unanswered, { count: unanswered, total }) : messages.allAnswered;
    dialog.showModal();
    document.getElementById("hand-in-cancel").focus();
  });
  document.getElementById("hand-in-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("hand-in-confirm").addEventListener("click", () => { dialog.close(); handIn(false); });

  // ---- start: the server's answers, then anything newer kept on this computer ---------------
  async function restore() {
    let newestSave = null;
    questions.forEach((section) => {
      const saved = config.answers[`${section.closest(".exam-item").dataset.itemVersion}/${section.dataset.question}`];
      if (saved) {
        setValue(section, saved.value);
        lastSequence.set(keyOf(section), saved.sequence);
        const at = Date.parse(saved.saved_at);
        if (Number.isFinite(at) && (newestSave === null || at > newestSave)) newestSave = at;
      }
    });
    const bySection = new Map(questions.map((section) => [keyOf(section), section]));
    for (const record of await allPending()) {
      const section = bySection.get(record.key);
      if (!section) continue;
      if (record.sequence > (lastSequence.get(record.key) || 0)) {
        setValue(section, record.value);
        lastSequence.set(record.key, record.sequence);
      } else {
        await removeIfUnchanged(record);
      }
    }
    questions.filter((s) => s.dataset.type === "essay").forEach(updateWordCount);
    questions.filter((s) => s.dataset.type === "oral").forEach(setupOral);
    await restoreFlags();
    updateOverview();
    waiting = (await allPending()).length;
    if (waiting) { showSaveState(); flush(); } else if (newestSave !== null) showSaved(newestSave);
  }

  // ---- full screen ---------------------------------------------------------------------------
  // Browsers grant it only from the candidate's own click; the start button's click cannot ask
  // for it, as this page is a new document and a new document leaves full screen. A refusal is
  // no error: the exam goes on, and proctor.js flags leaving full screen.
  const fullscreenButton = document.getElementById("fullscreen");
  if (fullscreenButton) {
    const root = document.documentElement;
    const canFullscreen = Boolean(document.fullscreenEnabled) && typeof root.requestFullscreen === "function";
    const showFullscreenButton = () => {
      fullscreenButton.hidden = !canFullscreen || Boolean(document.fullscreenElement);
    };
    fullscreenButton.addEventListener("click", () => {
      try {
        const asked = root.requestFullscreen();
        if (asked && typeof asked.catch === "function") asked.catch(() => { /* refused */ });
      } catch (error) { /* refused */ }
    });
    document.addEventListener("fullscreenchange", showFullscreenButton);
    showFullscreenButton();
  }

  show(1, false);
  showPause();
  if (paused) announce(messages.paused);
  tick();
  window.setInterval(tick, 1000);
  window.setInterval(syncClock, 60000);
  // While paused, ask more often, so the clock goes on soon after the proctor resumes it.
  window.setInterval(() => { if (paused) syncClock(); }, 10000);
  window.addEventListener("online", syncClock);
  // The proctors' messages poll says at once when the clock is paused or the attempt ended.
  document.addEventListener("vakt:exam-signal", (event) => {
    if (event.detail.ended || Boolean(event.detail.paused) !== paused) syncClock();
  });
  syncClock();
  restore().then(() => { document.getElementById("exam").dataset.ready = "true"; });
})();
