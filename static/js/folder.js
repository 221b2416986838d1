// A folder picker (<input type=file webkitdirectory data-folder-picker="NAME">, issue #15):
// the browser sends each file's base name only, so this puts every file's place in the
// folder (webkitRelativePath), in the order the files are sent, into a hidden field NAME
// as a JSON list; the server pairs them (sites/picked.py). Without it, an archive upload
// still works and the server says the paths are missing.
(function () {
  document.querySelectorAll("input[type=file][data-folder-picker]").forEach(function (input) {
    const form = input.form;
    if (!form) { return; }
    let hidden = form.querySelector("input[type=hidden][name='" + input.dataset.folderPicker + "']");
    if (!hidden) {
      hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = input.dataset.folderPicker;
      input.insertAdjacentElement("afterend", hidden);
    }
    // What the server skips anyway (sites/archive.py IGNORED: .git, .DS_Store,
    // __MACOSX) is not sent at all: a .git folder alone can hold thousands of files.
    const ignored = /(^|\/)(__MACOSX|\.[^/]*)(\/|$)/;
    const pathOf = function (file) { return file.webkitRelativePath || file.name; };
    const record = function () {
      const kept = Array.from(input.files).filter(function (file) {
        return !ignored.test(pathOf(file));
      });
      if (kept.length < input.files.length && window.DataTransfer) {
        const transfer = new DataTransfer();
        kept.forEach(function (file) { transfer.items.add(file); });
        input.files = transfer.files;
      }
      hidden.value = JSON.stringify(Array.from(input.files, pathOf));
      check();
    };
    // A folder past what the front door takes in one request (data-max-bytes) or past
    // the most files is refused here, with a message, rather than sent and refused with
    // a 413 page that loses the form. Each file also costs its part's headers (about
    // 200 bytes) and its path twice (the part and the hidden list).
    const maxBytes = parseInt(input.dataset.maxBytes || "0", 10);
    const maxFiles = parseInt(input.dataset.maxFiles || "0", 10);
    const note = document.createElement("div");
    note.className = "invalid-feedback";
    note.id = input.id + "-too-big";
    input.insertAdjacentElement("afterend", note);
    const mb = function (bytes) { return (bytes / 1024 / 1024).toFixed(1) + " MB"; };
    const check = function () {
      const files = Array.from(input.files);
      const size = files.reduce(function (sum, file) {
        return sum + file.size + 200 + 2 * pathOf(file).length;
      }, 0);
      let message = "";
      if (input.offsetParent === null) {
        // Hidden: another source is chosen, and this folder will not be sent.
      } else if (maxFiles && files.length > maxFiles) {
        message = "This folder holds " + files.length.toLocaleString() + " files; at most " +
          maxFiles.toLocaleString() + " can be sent. Pack it as a .zip or .tar.gz instead.";
      } else if (maxBytes && size > maxBytes) {
        message = "This folder is " + mb(size) + "; at most " + mb(maxBytes) +
          " can be sent at once. Pack it as a .zip or .tar.gz (it is compressed) instead.";
      }
      input.setCustomValidity(message);
      input.classList.toggle("is-invalid", message !== "");
      note.textContent = message;
      if (message) { input.setAttribute("aria-describedby", note.id); }
    };
    input.addEventListener("change", record);
    // Choosing another source hides the picker (after this event's other listeners).
    form.addEventListener("change", function (event) {
      if (event.target !== input) { window.setTimeout(check, 0); }
    });
    record();  // a reload may keep the choice
  });
})();
