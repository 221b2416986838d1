// What every page shares, without inline script (the CSP forbids it): the menu on small
// screens, copy buttons (`data-copy="text"`), and a form's source choice, which shows
// only the chosen source's input (all stay visible without scripts).
(function () {
  document.querySelectorAll("[data-toggle-nav]").forEach(function (button) {
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    button.addEventListener("click", function () {
      button.setAttribute("aria-expanded", String(menu.classList.toggle("show")));
    });
  });

  function say(button, text) {
    var label = button.querySelector("[data-copy-label]") || button;
    if (!button.dataset.label) button.dataset.label = label.textContent;
    label.textContent = text;
    var announcer = document.getElementById("announcer");
    if (announcer) announcer.textContent = text;
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () { label.textContent = button.dataset.label; }, 2000);
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.dataset.copy;
      if (!navigator.clipboard) return say(button, "Select and copy");
      navigator.clipboard.writeText(text).then(
        function () { say(button, "Copied"); },
        function () { say(button, "Copy failed"); });
    });
  });

  document.querySelectorAll("[data-source-choice]").forEach(function (fieldset) {
    var form = fieldset.form || fieldset.closest("form");
    function show() {
      var chosen = fieldset.querySelector("input:checked");
      form.querySelectorAll("[data-source]").forEach(function (field) {
        field.hidden = !!chosen && field.dataset.source !== chosen.value;
      });
    }
    fieldset.addEventListener("change", show);
    show();
  });
})();
