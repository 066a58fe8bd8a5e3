// Messages from the proctors on the exam page: asked for every few seconds, shown at once in an
// assertive alert, and marked read when the candidate dismisses them. The same answer says
// whether a proctor paused the clock or the attempt was ended, which the exam page acts on. The words are the
// proctor's and the page's (data attributes); this script adds none of its own.
"use strict";

(function () {
  const box = document.getElementById("proctor-messages");
  if (!box) return;
  const list = document.getElementById("proctor-message-list");
  const read = document.getElementById("proctor-messages-read");
  const POLL_MS = 5000; // soon enough for a proctor's word; 2,000 candidates make 400 requests/s
  let shown = 0; // the newest message id on screen

  function show(messages) {
    const newest = messages.length ? messages[messages.length - 1].id : 0;
    if (newest === shown) return;
    shown = newest;
    list.replaceChildren(...messages.map((message) => {
      const paragraph = document.createElement("p");
      paragraph.className = "exam-alert proctor-message";
      paragraph.textContent = message.text;
      return paragraph;
    }));
    read.hidden = messages.length === 0;
  }

  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      show(body.messages);
      // A pause or the end of the attempt is for the exam page to show (exam.js) at once.
      document.dispatchEvent(new CustomEvent("vakt:exam-signal", { detail: { paused: body.paused, ended: body.ended } }));
    } catch (error) {
      // Offline: the next poll asks again.
    }
  }

  read.addEventListener("click", async () => {
    try {
      const response = await fetch(`${box.dataset.url}/read`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf, Accept: "application/json" },
        body: JSON.stringify({ through: shown }),
      });
      if (!response.ok) throw new Error(response.statusText);
      list.replaceChildren();
      read.hidden = true;
    } catch (error) {
      const paragraph = document.createElement("p");
      paragraph.textContent = box.dataset.readError;
      list.appendChild(paragraph);
    }
  });

  poll();
  window.setInterval(poll, POLL_MS);
})();
