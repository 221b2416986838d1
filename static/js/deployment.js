// Follows a live deployment: appends only the new log text, keeps the badge, the phase
// ("Queued: waiting for a worker", "Starting the engine…") and the elapsed time current,
// and reloads the page once it has ended (to show its result). It survives a background
// tab (it asks again at once when the tab is shown) and a lost connection (it retries
// with a growing pause, says "Reconnecting…", and resumes from the last text it has).
(function () {
  const log = document.getElementById("log");
  if (!log || log.dataset.active !== "true") return;
  const empty = document.getElementById("log-empty");
  const status = document.getElementById("deployment-status");
  const elapsed = document.getElementById("elapsed");
  const phase = document.getElementById("progress-text");
  const queuedAt = new Date(log.dataset.queuedAt);
  let startedAt = log.dataset.startedAt ? new Date(log.dataset.startedAt) : null;
  let next = parseInt(log.dataset.next, 10) || 0;
  let state = log.dataset.status;
  let skew = 0; // the server's clock minus ours, from its Date header
  let failures = 0;
  let timer = null;
  let busy = false;

  function span(seconds) {
    if (seconds < 60) return seconds.toFixed(1) + " s";
    const minutes = Math.floor(seconds / 60), secs = Math.floor(seconds % 60);
    if (minutes < 60) return minutes + " min " + String(secs).padStart(2, "0") + " s";
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function tick() {
    const now = Date.now() + skew;
    if (startedAt) elapsed.textContent = span(Math.max(0, now - startedAt) / 1000) + " so far";
    else elapsed.textContent = "not started: waiting for a worker for " + span(Math.max(0, now - queuedAt) / 1000);
  }

  function say(text) { if (phase && phase.textContent !== text) phase.textContent = text; }

  function showPhase() {
    if (state === "queued") say("Queued: waiting for a worker to pick it up.");
    else if (state === "cancelling") say("Cancelling: stopping the engine.");
    else if (next > 0) say("Running: the engine's output follows below.");
    else say("Starting the engine…");
  }

  function showStatus(value) {
    if (value === state) return;
    state = value;
    const badge = document.createElement("span");
    badge.className = "badge status status-" + value;
    badge.dataset.status = value;
    badge.textContent = value;
    status.replaceChildren(badge);
  }

  function schedule(ms) { clearTimeout(timer); timer = setTimeout(poll, ms); }

  async function poll() {
    if (busy) return;
    busy = true;
    try {
      const response = await fetch(log.dataset.logUrl + "?after=" + next,
                                   {credentials: "same-origin", cache: "no-store"});
      if (!response.ok) throw new Error("HTTP " + response.status);
      const date = response.headers.get("Date");
      if (date) skew = new Date(date) - Date.now();
      const data = await response.json();
      failures = 0;
      if (data.text) {
        const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 5;
        log.hidden = false;
        if (empty) empty.hidden = true;
        log.append(document.createTextNode(data.text));
        if (atBottom) log.scrollTop = log.scrollHeight;
      }
      next = data.next;
      if (data.started_at) startedAt = new Date(data.started_at);
      showStatus(data.status);
      if (!data.active) return window.location.reload();
      showPhase();
      schedule(1000);
    } catch (e) {
      failures += 1;
      const wait = Math.min(30000, 1000 * 2 ** failures);
      say("Reconnecting… (the server did not answer; trying again in " + Math.round(wait / 1000) + " s)");
      schedule(wait);
    } finally {
      busy = false;
    }
  }

  // A background tab's timers are slowed down by the browser: catch up when it is shown.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") schedule(0);
  });
  window.addEventListener("online", function () { schedule(0); });
  setInterval(tick, 1000);
  schedule(1000);
})();
