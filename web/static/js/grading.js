// The grading screen: marks and the comment are saved about a second after typing stops, through
// the graders' API. The form still saves and submits without this script; here it makes sure
// nothing typed is lost (a failed save is tried again) and shows errors at their fields.
"use strict";

(function () {
  const form = document.getElementById("marking-form");
  if (!form) return;
  const state = document.getElementById("save-state");
  const sequenceInput = document.getElementById("sequence");
  const csrf = form.querySelector("input[name=csrf_token]").value;
  const fields = Array.from(form.querySelectorAll("[data-field]"));
  const marks = fields.filter((el) => el.classList.contains("mark-input"));
  const comment = form.querySelector("#comment");
  const DELAY_MS = 1000;
  const RETRY_MS = 5000;
  let sequence = Number(sequenceInput.value) - 1;
  let timer = null;
  let dirty = false;
  let inFlight = false;
  const clock = new Intl.DateTimeFormat(form.dataset.lang || undefined, {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: form.dataset.timezone || undefined,
  });

  function format(text, values) {
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
  }

  function setState(text, offline) {
    // A polite region: only a changed text is announced, so "Saved 10:42" is not repeated.
    if (state.textContent !== text) state.textContent = text;
    state.classList.toggle("offline", Boolean(offline));
  }

  function errorBox(field) {
    return document.getElementById(field.id + "-error");
  }

  function clearErrors() {
    for (const field of fields) {
      field.removeAttribute("aria-invalid");
      const box = errorBox(field);
      if (box) box.textContent = "";
    }
  }

  function showError(name, message) {
    const field = fields.find((el) => el.dataset.field === name);
    if (!field) return false;
    field.setAttribute("aria-invalid", "true");
    const box = errorBox(field);
    if (box) box.textContent = message;
    return true;
  }

  async function save() {
    timer = null;
    if (inFlight) { schedule(); return; }
    inFlight = true;
    dirty = false;
    sequence += 1;
    sequenceInput.value = String(sequence + 1);
    const body = {
      marks: marks.map((el) => (el.value.trim() === "" ? (el.validity.badInput ? "?" : null) : el.value.trim())),
      comment: comment.value,
      sequence: sequence,
    };
    try {
      const response = await fetch(form.dataset.autosave, {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok) {
        clearErrors();
        const when = answer.saved_at ? clock.format(new Date(answer.saved_at)) : "";
        setState(format(form.dataset.saved, { time: when }), false);
      } else if (response.status >= 500) {
        dirty = true;
        setState(form.dataset.offline, true);
        window.setTimeout(() => { if (dirty && !timer) schedule(); }, RETRY_MS);
      } else {
        const error = answer.error || {};
        clearErrors();
        showError(error.field || "", error.message || "");
        setState(format(form.dataset.failed, { message: error.message || response.statusText }), true);
      }
    } catch (failure) {
      // No connection: what was typed stays on the page and is sent again.
      dirty = true;
      setState(form.dataset.offline, true);
      window.setTimeout(() => { if (dirty && !timer) schedule(); }, RETRY_MS);
    } finally {
      inFlight = false;
    }
  }

  function schedule() {
    dirty = true;
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(save, DELAY_MS);
  }

  for (const field of fields) field.addEventListener("input", schedule);
  form.addEventListener("submit", () => {
    // The form sends what is on the screen; its sequence must be newer than any autosave.
    if (timer) window.clearTimeout(timer);
    timer = null;
    dirty = false;
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });
})();
