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
    };
    input.addEventListener("change", record);
    record();  // a reload may keep the choice
  });
})();
