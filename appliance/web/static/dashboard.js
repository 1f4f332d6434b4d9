// The status page refreshes itself in place (no full reload, which loses the reader's place
// and is an accessibility failure): every data-refresh-seconds it fetches the page again,
// swaps the #live part and the "Updated" time, and says in the #live-news region when
// something changed. Local file, no inline script: the Content-Security-Policy allows 'self'.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var news = document.getElementById("live-news");
  var button = document.getElementById("refresh-now");
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 30;
  var busy = false;

  function say(text) {
    if (news) { news.textContent = text; }
  }

  function openDetails() {
    var keys = {};
    live.querySelectorAll("details[open][data-key]").forEach(function (d) {
      keys[d.getAttribute("data-key")] = true;
    });
    return keys;
  }

  function refresh(byHand) {
    if (busy) { return Promise.resolve(); }
    // Leave the page alone while the reader is working inside it (keyboard focus) or it is
    // hidden; the next round tries again.
    if (!byHand && (document.hidden || live.contains(document.activeElement))) {
      return Promise.resolve();
    }
    busy = true;
    return fetch(window.location.href, {credentials: "same-origin",
                                        headers: {"Accept": "text/html"}})
      .then(function (resp) {
        if (resp.redirected || !resp.ok) {
          throw new Error(resp.redirected ? "session" : "status " + resp.status);
        }
        return resp.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (!fresh) { throw new Error("no status in the answer"); }
        var changed = fresh.textContent.replace(/\s+/g, " ") !==
          live.textContent.replace(/\s+/g, " ");
        var keep = openDetails();
        live.innerHTML = fresh.innerHTML;
        live.querySelectorAll("details[data-key]").forEach(function (d) {
          if (keep[d.getAttribute("data-key")]) { d.open = true; }
        });
        var stamp = doc.getElementById("updated");
        var mine = document.getElementById("updated");
        if (stamp && mine) { mine.innerHTML = stamp.innerHTML; }
        live.setAttribute("data-refreshed", String(Date.now()));
        if (changed) {
          say("The status changed; updated " + (mine ? mine.textContent.replace("Updated", "").trim() : "now") + ".");
        } else if (byHand) {
          say("Updated; nothing changed.");
        }
      })
      .catch(function (err) {
        say(err.message === "session"
          ? "Your session ended: reload the page to log in again."
          : "The box did not answer; the status shown may be old.");
        if (err.message === "session") { window.clearInterval(timer); }
      })
      .then(function () { busy = false; });
  }

  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () { refresh(true); });
  }
  var timer = window.setInterval(refresh, seconds * 1000);
})();
