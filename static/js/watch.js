// Pages showing a resource that is being deployed reload themselves when it settles:
// a detail page watches its active deployment; a list reloads while anything is busy.
(function () {
  const watched = document.querySelector("[data-watch-url]");
  if (watched) {
    const poll = async function () {
      try {
        const response = await fetch(watched.dataset.watchUrl, {credentials: "same-origin"});
        if (response.ok && !(await response.json()).active) return window.location.reload();
      } catch (e) { /* the server restarted: try again */ }
      setTimeout(poll, 1500);
    };
    setTimeout(poll, 1500);
  } else if (document.querySelector("[data-busy]")) {
    setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
