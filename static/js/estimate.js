// The monthly estimate of a form's choice (issue #17): a <select data-estimates='{…}'>
// (JSON: {choice: {total, priced, unpriced}}) shows what the chosen option costs.
(function () {
  document.querySelectorAll("select[data-estimates]").forEach(function (select) {
    const estimates = JSON.parse(select.dataset.estimates);
    const out = document.createElement("div");
    out.className = "form-text";
    out.dataset.estimateFor = select.name;
    select.insertAdjacentElement("afterend", out);
    const show = function () {
      const e = estimates[select.value];
      out.textContent = !e ? "" : e.priced ? "About $" + e.total + " a month"
                                           : e.unpriced;
    };
    select.addEventListener("change", show);
    show();
  });
})();
