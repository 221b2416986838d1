// A machine's console on its page: fetched again every few seconds while the machine
// boots (or changes), so a user sees why SSH does not answer yet. textContent only:
// the guest wrote this text.
(function () {
  const box = document.querySelector("[data-console-url]");
  if (!box) return;
  const following = box.dataset.follow === "yes";

  async function refresh() {
    try {
      const response = await fetch(box.dataset.consoleUrl, {credentials: "same-origin", cache: "no-store"});
      if (response.ok) {
        const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
        box.textContent = (await response.text()) || "(nothing yet)";
        const note = document.getElementById("console-note");
        if (note) note.textContent = response.headers.get("X-Console-Note") || "";
        if (atEnd) box.scrollTop = box.scrollHeight;
      }
    } catch (e) { /* the next tick tries again */ }
    if (following) setTimeout(refresh, 3000);
  }

  box.scrollTop = box.scrollHeight;
  if (following) setTimeout(refresh, 3000);
  const button = document.getElementById("console-refresh");
  if (button) button.addEventListener("click", refresh);
})();
