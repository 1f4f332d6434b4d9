// Polls the apply job and updates each stage; reloads the page when the job is done so the
// server renders the result. Local file: the box may have no internet.
(function () {
  var box = document.getElementById("apply");
  if (!box) return;
  var url = box.getAttribute("data-poll");
  function tick() {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); })
      .then(function (job) {
        Object.keys(job.stages).forEach(function (name) {
          var li = box.querySelector('[data-stage="' + name + '"]');
          if (!li) return;
          li.className = "stage " + job.stages[name].state;
          li.querySelector(".state").textContent = job.stages[name].state;
          li.querySelector(".msg").textContent = job.stages[name].message;
        });
        if (job.done) { window.location.reload(); } else { setTimeout(tick, 400); }
      }).catch(function () { setTimeout(tick, 1000); });
  }
  if (!document.querySelector("#result .success, #result .alert")) tick();
})();
