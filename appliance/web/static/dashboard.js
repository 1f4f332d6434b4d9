// The status page refreshes itself in place (no full reload, which loses the reader's place
// and is an accessibility failure): every data-refresh-seconds it fetches the page again and
// replaces the parts of #live whose text changed (unchanged alerts are left alone, so screen
// readers do not hear them again), and the "Updated" time. The #live-news region says so when
// something marked data-announce changed (states, not the ever-moving rates).
// Local file, no inline script: the Content-Security-Policy allows only 'self'.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) { return; }
  var newsBox = document.getElementById("live-news");
  var button = document.getElementById("refresh-now");
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 30;
  var busy = false;

  // The words are in the template (data-* of #live-news), to be translated with it.
  function say(key, time) {
    if (!newsBox) { return; }
    var text = newsBox.getAttribute("data-" + key) || key;
    newsBox.textContent = text.replace("{time}", time || "");
  }

  function norm(text) { return text.replace(/\s+/g, " ").trim(); }

  function announced(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-announce]"),
                                    function (el) { return norm(el.textContent); }).join("|");
  }

  // Replace the top-level parts that changed; everything when the layout itself changed.
  function swap(fresh) {
    var old = Array.prototype.slice.call(live.children);
    var neu = Array.prototype.slice.call(fresh.children);
    var same = old.length === neu.length && old.every(function (el, i) {
      return el.tagName === neu[i].tagName && el.id === neu[i].id &&
        el.className === neu[i].className;
    });
    if (!same) { live.innerHTML = fresh.innerHTML; return; }
    old.forEach(function (el, i) {
      if (norm(el.textContent) !== norm(neu[i].textContent)) {
        el.replaceWith(document.importNode(neu[i], true));
      }
    });
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
        var changed = announced(fresh) !== announced(live);
        var keep = openDetails();
        swap(fresh);
        live.querySelectorAll("details[data-key]").forEach(function (d) {
          if (keep[d.getAttribute("data-key")]) { d.open = true; }
        });
        var stamp = doc.getElementById("updated");
        var mine = document.getElementById("updated");
        if (stamp && mine) { mine.innerHTML = stamp.innerHTML; }
        live.setAttribute("data-refreshed", String(Date.now()));
        var time = mine && mine.querySelector("time") ? mine.querySelector("time").textContent : "";
        if (changed) {
          say("changed", time);
        } else if (byHand) {
          say("unchanged", time);
        }
      })
      .catch(function (err) {
        say(err.message === "session" ? "session-ended" : "no-answer");
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
