// The ECG strip: pages through the recording, draws the lead with each beat marked in its
// class colour, and shows a clicked beat's image and probabilities. Unreadable stretches are
// greyed and their beats get no class; uncertain beats are marked "X?". No dependencies.
(function () {
  "use strict";
  var section = document.getElementById("strip");
  if (!section) return;
  var canvas = document.getElementById("strip-canvas");
  var ctx = canvas.getContext("2d");
  var startInput = document.getElementById("strip-start");
  var secondsInput = document.getElementById("strip-seconds");
  var range = document.getElementById("strip-position");
  var caption = document.getElementById("strip-caption");
  var duration = parseFloat(section.dataset.duration);
  var data = null;
  var MV_TOP = 2.0, MV_BOTTOM = -1.5, LABEL_BAND = 22, GREY = "#9a9a9a";

  function seconds() { return parseFloat(secondsInput.value); }
  function clampStart(t) { return Math.max(0, Math.min(t, Math.max(0, duration - seconds()))); }
  function url(base, params) { return base + "?" + new URLSearchParams(params).toString(); }
  function beatUrl(base, index) { return base.replace(/\/0\.(json|png)$/, "/" + index + ".$1"); }
  function x(t) { return (t - data.start_s) / data.seconds * canvas.width; }
  function y(mv) {
    var h = canvas.height - LABEL_BAND;
    return LABEL_BAND + (MV_TOP - mv) / (MV_TOP - MV_BOTTOM) * h;
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#f3c9c9"; ctx.lineWidth = 1;  // 0.2 s grid, like ECG paper
    for (var g = Math.ceil(data.start_s / 0.2) * 0.2; g < data.start_s + data.seconds; g += 0.2) {
      ctx.beginPath(); ctx.moveTo(x(g), LABEL_BAND); ctx.lineTo(x(g), canvas.height); ctx.stroke();
    }
    (data.unreadable || []).forEach(function (u) {  // no class is shown for what lies here
      ctx.fillStyle = "#d9d9d9"; ctx.globalAlpha = 0.6;
      ctx.fillRect(x(u.start_s), 0, x(u.end_s) - x(u.start_s), canvas.height);
      ctx.globalAlpha = 1; ctx.fillStyle = "#555"; ctx.textAlign = "left"; ctx.font = "11px sans-serif";
      ctx.fillText("unreadable: " + u.reasons.join(", "), Math.max(2, x(u.start_s) + 2), canvas.height - 4);
    });
    drawEpisodes();
    ctx.strokeStyle = "#222"; ctx.beginPath();
    var n = data.signal.length, dt = data.seconds / n;
    for (var i = 0; i < n; i++) {
      var px = x(data.start_s + i * dt), py = y(data.signal[i]);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    }
    ctx.stroke();
    ctx.font = "12px sans-serif"; ctx.textAlign = "center";
    data.beats.forEach(function (b) {
      var colour = b.reviewed ? (data.colours[b.reviewed] || "#666") :
        (b.state === "unreadable" ? GREY : (data.colours[b.label] || "#666"));
      ctx.fillStyle = colour; ctx.globalAlpha = 0.18;
      ctx.fillRect(x(b.t) - 3, LABEL_BAND, 6, canvas.height - LABEL_BAND);
      ctx.globalAlpha = 1; ctx.fillText(mark(b), x(b.t), 15);
    });
    if (selected >= 0 && data.beats[selected]) {  // the beat shown in the detail card
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.strokeRect(x(data.beats[selected].t) - 8, 2, 16, canvas.height - 4);
      ctx.lineWidth = 1;
    }
    caption.textContent = data.start_s.toFixed(1) + "–" + (data.start_s + data.seconds).toFixed(1) +
      " s of " + duration.toFixed(0) + " s; " + data.beats.length + " beats. Click a beat for details." +
      ((data.unreadable || []).length ? " Grey: unreadable, no class shown." : "");
  }

  // Rhythm episodes (AF, runs, pauses, ...) as labelled translucent bands under the trace; a
  // point event (start == end) still gets a visible band.
  var EPISODE_COLOURS = {AF: "#8e44ad", VT: "#c0392b", VFL: "#c0392b", SVT: "#d35400", pause: "#2c3e50"};
  function drawEpisodes() {
    (data.episodes || []).forEach(function (e, i) {
      var left = Math.max(0, x(e.start_s)), right = Math.min(canvas.width, Math.max(x(e.end_s), left + 4));
      ctx.fillStyle = EPISODE_COLOURS[e.kind] || "#1f6f8b"; ctx.globalAlpha = 0.12;
      ctx.fillRect(left, LABEL_BAND, right - left, canvas.height - LABEL_BAND);
      ctx.globalAlpha = 1; ctx.textAlign = "left"; ctx.font = "11px sans-serif";
      ctx.fillText(e.label, left + 2, LABEL_BAND + 12 + 12 * (i % 3));  // overlaps stay legible
    });
  }

  // The beat's mark above the strip: its class, "X?" when uncertain, "·" when unreadable;
  // a reviewed beat shows the clinician's class with a tick.
  function mark(b) {
    if (b.reviewed) return b.reviewed + "\u2713";
    if (b.state === "unreadable") return "\u00b7";
    return b.state === "uncertain" ? b.label + "?" : b.label;
  }

  function load(start) {
    start = clampStart(start);
    fetch(url(section.dataset.stripUrl, {start: start, seconds: seconds()}), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        data = d; selected = -1; startInput.value = Math.round(d.start_s); range.value = Math.round(d.start_s); draw();
      });
  }

  var selected = -1;  // position in data.beats of the beat shown below the strip

  function showHeatMap(index) {
    // Grad-CAM of the beat, computed once by the server; hidden when it cannot be had.
    var img = document.getElementById("beat-heatmap"), note = document.getElementById("beat-heatmap-note");
    if (!img || !section.dataset.heatmapUrl) return;
    img.classList.add("d-none"); note.classList.add("d-none");
    img.onload = function () { img.classList.remove("d-none"); note.classList.remove("d-none"); };
    img.onerror = function () { img.classList.add("d-none"); note.classList.add("d-none"); };
    img.src = beatUrl(section.dataset.heatmapUrl, index);
  }

  function showBeat(beat) {
    selected = data.beats.indexOf(beat);
    draw();
    fetch(beatUrl(section.dataset.beatUrl, beat.index), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (b) {
        document.getElementById("beat-detail").classList.remove("d-none");
        var correct = document.getElementById("beat-correct-index");  // the owner's form only
        if (correct) {
          correct.value = b.index;
          document.getElementById("beat-correct-label").value = b.reviewed_label || b.label;
        }
        document.getElementById("beat-image").src = beatUrl(section.dataset.pngUrl, b.index);
        showHeatMap(b.index);
        document.getElementById("beat-title").textContent = "Beat " + b.index + " at " +
          b.time_s.toFixed(2) + " s: " + (b.state === "classified" ? b.label_name : b.shown_label) + (b.reviewed_label ? " (model)" : "") +
          " (" + (100 * b.confidence).toFixed(1) + " %" + (b.state === "unreadable" ? ", model output kept, not shown" : "") + ")" +
          (b.reference ? "; reference " + b.reference : "") +
          (b.reviewed_label ? "; reviewed as " + b.reviewed_label + " by " + b.reviewed_by : "") +
          (b.suggested_label ? "; suggested from your corrections: " + b.suggested_label + " (not reviewed)" : "");
        var body = document.getElementById("beat-probabilities");
        body.textContent = "";
        b.probabilities.forEach(function (p) {
          var row = body.insertRow(), name = row.insertCell(), value = row.insertCell();
          name.textContent = p.name + " (" + p.code + ")"; value.textContent = p.percent + " %";
          value.className = "text-end";
        });
      });
  }

  canvas.addEventListener("click", function (event) {
    if (!data || !data.beats.length) return;
    var rect = canvas.getBoundingClientRect();
    var t = data.start_s + (event.clientX - rect.left) / rect.width * data.seconds;
    var best = data.beats.reduce(function (a, b) { return Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a; });
    if (Math.abs(best.t - t) < 0.3) showBeat(best);
  });
  // Keyboard: focus the strip, then left / right arrows walk from beat to beat.
  canvas.addEventListener("keydown", function (event) {
    if (!data || !data.beats.length) return;
    var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    var next = Math.max(0, Math.min(data.beats.length - 1, selected + step));
    if (selected < 0) next = step > 0 ? 0 : data.beats.length - 1;
    showBeat(data.beats[next]);
  });
  function find(direction) {
    var after = data ? (direction === "back" ? data.start_s : data.start_s + data.seconds / 2) : 0;
    var label = document.getElementById("strip-class").value;
    fetch(url(section.dataset.findUrl, {after: after, label: label, direction: direction}), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (f) {
        if (f.time_s === null) { caption.textContent = "No " + label + " beat " + (direction === "back" ? "before" : "after") + " this page."; return; }
        load(f.time_s - seconds() / 2);
      });
  }
  document.getElementById("strip-prev").addEventListener("click", function () { load(data.start_s - seconds()); });
  document.getElementById("strip-next").addEventListener("click", function () { load(data.start_s + seconds()); });
  document.getElementById("strip-find-next").addEventListener("click", function () { find("next"); });
  document.getElementById("strip-find-prev").addEventListener("click", function () { find("back"); });
  secondsInput.addEventListener("change", function () { load(data ? data.start_s : 0); });
  startInput.addEventListener("change", function () { load(parseFloat(startInput.value) || 0); });
  range.addEventListener("change", function () { load(parseFloat(range.value)); });
  document.querySelectorAll("a.jump").forEach(function (a) {
    a.addEventListener("click", function () { load(parseFloat(a.dataset.time) - 1); });
  });
  // ?start=<s> (a template card's link) opens the strip around that time.
  var asked = parseFloat(new URLSearchParams(window.location.search).get("start"));
  load(isFinite(asked) ? asked - 1 : 0);
})();
