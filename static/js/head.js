// Loaded in <head>, before the page paints: Bootstrap's colour mode from the system's
// setting (and when it changes), a `js` class for styles that need scripts, and the
// browser's time zone in a cookie, so the server writes times in it (stacks/usertz.py).
(function () {
  var root = document.documentElement;
  root.classList.add("js");
  var dark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  function apply() { root.setAttribute("data-bs-theme", dark && dark.matches ? "dark" : "light"); }
  apply();
  if (dark && dark.addEventListener) dark.addEventListener("change", apply);
  try {
    var zone = encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone || "");
    var current = document.cookie.split("; ").filter(function (c) { return c.indexOf("tz=") === 0; })[0];
    if (zone && current !== "tz=" + zone) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: times stay in the server's zone, which they name */ }
})();
