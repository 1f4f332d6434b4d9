// The Firmware page: upload a bundle with a progress bar, show what it is (or why it is
// refused) before the operator confirms, and follow an update under way. Local file: the box
// may have no internet.
(function () {
  var button = document.getElementById("upload-button");
  if (button) {
    button.addEventListener("click", function () {
      var file = document.getElementById("bundle").files[0];
      var bar = document.getElementById("upload-bar");
      var state = document.getElementById("upload-state");
      var refused = document.getElementById("upload-refused");
      var confirm = document.getElementById("confirm");
      refused.hidden = true; confirm.hidden = true;
      if (!file) { return; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", button.getAttribute("data-url"));
      xhr.setRequestHeader("X-CSRFToken", button.getAttribute("data-csrf"));
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      bar.hidden = false; bar.value = 0; button.disabled = true;
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round(100 * e.loaded / e.total);
          state.textContent = bar.value + " %";
        }
      };
      xhr.onload = function () {
        button.disabled = false;
        var js = {};
        try { js = JSON.parse(xhr.responseText); } catch (err) { js = {}; }
        state.textContent = "";
        if (!js.ok) {
          refused.textContent = "";
          (js.reasons || [button.getAttribute("data-failed")]).forEach(function (r) {
            var li = document.createElement("li"); li.textContent = r; refused.appendChild(li);
          });
          refused.hidden = false;
          return;
        }
        document.getElementById("confirm-token").value = js.token;
        document.getElementById("bundle-version").textContent = js.bundle.version;
        document.getElementById("bundle-notes").textContent = js.bundle.notes;
        document.getElementById("bundle-schema").textContent = js.bundle.schema;
        var down = document.getElementById("downgrade");
        down.hidden = !js.downgrade.length;
        document.getElementById("downgrade-why").textContent = js.downgrade.join(" ");
        confirm.hidden = false;
      };
      xhr.onerror = function () {
        button.disabled = false;
        refused.textContent = button.getAttribute("data-failed");
        refused.hidden = false;
      };
      xhr.send(file);
    });
  }
  var box = document.getElementById("update-progress");
  if (box) {
    var tick = function () {
      fetch(box.getAttribute("data-poll"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          if (p.percent !== null && p.percent !== undefined) {
            document.getElementById("update-bar").value = p.percent;
          }
          if (p.message) { document.getElementById("update-step").textContent = p.message; }
          if (p.done) { window.location.reload(); } else { setTimeout(tick, 2000); }
        }).catch(function () { setTimeout(tick, 5000); });
    };
    tick();
  }
})();
