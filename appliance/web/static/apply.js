// Polls the apply job and updates each stage; when the job is done the heading turns from
// "Applying…" into "Applied" (or "Not applied") and the page reloads so the server renders the
// result. Local file: the box may have no internet.
(function () {
  var box = document.getElementById("apply");
  if (!box) return;
  var url = box.getAttribute("data-poll");
  var heading = document.getElementById("apply-heading");
  // the states in the page's language, as the server wrote them (templates/apply_progress.html)
  var states = JSON.parse(box.getAttribute("data-states") || "{}");
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (job) {
        Object.keys(job.stages).forEach(function (name) {
          var li = box.querySelector('[data-stage="' + name + '"]');
          if (!li) return;
          li.className = "stage " + job.stages[name].state;
          li.querySelector(".state").textContent = states[job.stages[name].state] ||
            job.stages[name].state;
          li.querySelector(".msg").textContent = job.stages[name].message;
        });
        if (job.done) {
          var ok = job.outcome && job.outcome.ok;
          var text = box.getAttribute(ok ? "data-applied" : "data-failed");
          if (heading) heading.textContent = text;
          document.title = text + " · " + document.title.split(" · ").slice(1).join(" · ");
          window.location.reload();
        } else { setTimeout(tick, 400); }
      }).catch(function () { setTimeout(tick, 1000); });
  }
  if (box.getAttribute("data-done") !== "yes") tick();
})();
