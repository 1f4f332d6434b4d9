// Forms marked data-once are sent once: a double click must not apply a change twice.
// Coming back with the browser's Back button re-arms them. Local file: the box may be offline.
(function () {
  function arm() {
    document.querySelectorAll("form[data-once]").forEach(function (f) { f.dataset.sent = ""; });
  }
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.hasAttribute || !f.hasAttribute("data-once")) return;
    if (f.dataset.sent === "1") { ev.preventDefault(); return; }
    f.dataset.sent = "1";
  });
  window.addEventListener("pageshow", arm);
})();
