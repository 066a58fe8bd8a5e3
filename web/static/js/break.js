// The page between parts during a break: the start button stays disabled until the break is
// over, then the page reloads to offer the next part (and check the camera again).
"use strict";

(function () {
  const button = document.getElementById("start-part");
  if (!button || !button.dataset.opensAt) return;
  const opensAt = Date.parse(button.dataset.opensAt);
  const offset = Date.parse(button.dataset.serverTime) - Date.now();
  if (!Number.isFinite(opensAt) || !Number.isFinite(offset)) return;
  // setTimeout cannot wait longer than about 24 days; a break is never that long.
  const wait = Math.min(2 ** 31 - 1, Math.max(0, opensAt - (Date.now() + offset)) + 500);
  window.setTimeout(() => window.location.reload(), wait);
})();
