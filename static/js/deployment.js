// Polls a live deployment's log and status, appending only the new text.
(function () {
  const log = document.getElementById("log");
  if (!log || log.dataset.active !== "true") return;
  const status = document.getElementById("deployment-status");
  const elapsed = document.getElementById("elapsed");
  let next = parseInt(log.dataset.next, 10) || 0;

  function showElapsed(startedAt, finishedAt) {
    if (!startedAt) return;
    const end = finishedAt ? new Date(finishedAt) : new Date();
    elapsed.textContent = ((end - new Date(startedAt)) / 1000).toFixed(1) + " s";
  }

  async function poll() {
    const response = await fetch(log.dataset.logUrl + "?after=" + next, {credentials: "same-origin"});
    if (!response.ok) return setTimeout(poll, 3000);
    const data = await response.json();
    if (data.text) {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 5;
      log.append(document.createTextNode(data.text));
      if (atBottom) log.scrollTop = log.scrollHeight;
    }
    next = data.next;
    status.innerHTML = "";
    const badge = document.createElement("span");
    badge.className = "badge status status-" + data.status;
    badge.dataset.status = data.status;
    badge.textContent = data.status;
    status.append(badge);
    showElapsed(data.started_at, data.finished_at);
    if (data.active) setTimeout(poll, 1000);
    else window.location.reload();
  }
  setTimeout(poll, 1000);
})();
