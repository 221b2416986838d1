// Expiry countdowns (issue #17): each <time data-countdown datetime="…"> says how long is
// left ("in 1 h 59 min"), updated every second; its date stays in the title.
(function () {
  if (window.herocoolCountdown) return;  // included by more than one part of a page
  window.herocoolCountdown = true;
  const clocks = document.querySelectorAll("time[data-countdown]");
  if (!clocks.length) return;
  const left = function (ms) {
    if (ms <= 0) return "now";
    const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    const m = Math.floor(s % 3600 / 60);
    if (d) return "in " + d + " d " + h + " h";
    if (h) return "in " + h + " h " + m + " min";
    return "in " + m + " min " + (s % 60) + " s";
  };
  const tick = function () {
    clocks.forEach(function (el) {
      el.textContent = left(new Date(el.getAttribute("datetime")) - Date.now());
    });
  };
  tick();
  setInterval(tick, 1000);
})();
