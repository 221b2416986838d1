// Pages showing a resource that is being deployed reload themselves when it settles:
// a detail page watches its active deployment; a list reloads while anything is busy.
// A lost connection never leaves a browser error page: the server is asked first, with
// a growing pause between tries; a tab shown again asks at once.
(function () {
  const health = document.currentScript.dataset.healthUrl;
  const watched = document.querySelector("[data-watch-url]");
  if (!watched && !document.querySelector("[data-busy]")) return;
  let failures = 0;
  let timer = null;

  async function settled() {
    if (!watched) {  // a list: reload only if the server answers (a cheap probe)
      return (await fetch(health, {cache: "no-store"})).ok;
    }
    const response = await fetch(watched.dataset.watchUrl, {credentials: "same-origin", cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    return !(await response.json()).active;
  }

  async function poll() {
    try {
      if (await settled()) return window.location.reload();
      failures = 0;
    } catch (e) {
      failures += 1;  // the server restarted or the network is gone: try again later
    }
    schedule(Math.min(30000, (watched ? 1500 : 3000) * 2 ** failures));
  }

  function schedule(ms) { clearTimeout(timer); timer = setTimeout(poll, ms); }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") schedule(0);
  });
  window.addEventListener("online", function () { schedule(0); });
  schedule(watched ? 1500 : 3000);
})();
