// Polls the analysis status and moves the progress bar; reloads the page when it ends.
(function () {
  "use strict";
  var section = document.getElementById("progress-section");
  if (!section) return;
  var bar = document.getElementById("progress-bar");
  var message = document.getElementById("progress-message");
  function poll() {
    fetch(section.dataset.statusUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.finished) { window.location.reload(); return; }
        bar.style.width = s.progress + "%";
        bar.textContent = s.progress + "%";
        bar.parentNode.setAttribute("aria-valuenow", s.progress);
        message.textContent = s.status_display + (s.message ? ": " + s.message : "");
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
