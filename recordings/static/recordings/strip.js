// The ECG strip: pages through the recording, draws the leads on ECG paper with each beat
// marked in its class colour, and shows a clicked beat's image and probabilities. Unreadable
// stretches are greyed and their beats get no class; uncertain beats are marked "X?".
// ECG paper (paperLayout, drawGrid, drawCalibration, drawLead): 25 mm/s and 10 mm/mV by
// default, 1 mm / 5 mm grid at PX_PER_MM CSS pixels per mm, a 1 mV, 200 ms calibration pulse
// left of each lead; zoom (setSpeed / setGain) with buttons or + / - (speed) and up / down
// arrows (gain); "All N leads" draws every stored lead, one row each. Labels (drawLabels): the model's row, and the reference row with
// disagreements outlined when the upload had reference annotations. No dependencies.
(function () {
  "use strict";
  var section = document.getElementById("strip");
  if (!section) return;
  var canvas = document.getElementById("strip-canvas");
  var ctx = canvas.getContext("2d");
  var startInput = document.getElementById("strip-start");
  var range = document.getElementById("strip-position");
  var caption = document.getElementById("strip-caption");
  var scaleText = document.getElementById("strip-scale");
  var duration = parseFloat(section.dataset.duration);
  var data = null;

  // -- ECG paper ---------------------------------------------------------------------------
  // CSS pixels per mm of paper: a CSS pixel is nominally 1/96 inch (3.78 px/mm), so the paper
  // is drawn 6 % larger than true millimetres on a nominal screen; count squares to measure.
  var PX_PER_MM = parseFloat(section.dataset.pxPerMm) || 4;
  var SPEEDS = [10, 25, 50], GAINS = [5, 10, 20];  // mm/s, mm/mV
  var speed = 25, gain = 10;
  var PAPER_MM = 250;  // width of the trace: 10 s at 25 mm/s, 25 s at 10, 5 s at 50
  var MARGIN_MM = 16;  // left of the trace: the lead's name and its calibration pulse
  var HEADER = 18, LABEL_ROW = 18;  // px: the scale line, then one row per label kind
  var MV_TOP = 2.0, MV_BOTTOM = -1.5;  // what a lead's row holds, in mV
  var PULSE_S = 0.2, PULSE_MV = 1.0, PULSE_LEFT_MM = 2;

  function seconds() { return PAPER_MM / speed; }
  function clampStart(t) { return Math.max(0, Math.min(t, Math.max(0, duration - seconds()))); }
  function url(base, params) { return base + "?" + new URLSearchParams(params).toString(); }
  function beatUrl(base, index) { return base.replace(/\/0\.(json|png)$/, "/" + index + ".$1"); }
  function mm(n) { return n * PX_PER_MM; }

  // A time (s into the recording) as x on the canvas (CSS px), in the layout last drawn.
  var layout = null;
  function x(t) { return layout.x0 + (t - data.start_s) * layout.pxPerS; }

  // Where everything lies on the canvas, in CSS pixels, for the current scale and leads.
  function paperLayout() {
    var leads = [{name: data.lead_name, signal: data.signal}];
    if (data.second_lead) leads.push(data.second_lead);
    leads = leads.concat(data.other_leads || []);  // every stored lead, when asked for
    var labelRows = data.has_reference ? 2 : 1;
    var rowMm = Math.max(25, Math.ceil((MV_TOP - MV_BOTTOM) * gain / 5) * 5);  // whole 5 mm
    var top = HEADER + labelRows * LABEL_ROW;
    var rows = leads.map(function (lead, i) {
      var rowTop = top + i * mm(rowMm);
      return {name: lead.name, signal: lead.signal, top: rowTop, height: mm(rowMm),
              baseline: rowTop + mm(MV_TOP * gain)};  // 0 mV falls on a 5 mm line
    });
    return {
      x0: mm(MARGIN_MM), pxPerS: mm(speed), pxPerMv: mm(gain), rows: rows,
      modelY: HEADER, referenceY: data.has_reference ? HEADER + LABEL_ROW : null,
      gridTop: top, width: mm(MARGIN_MM + PAPER_MM), height: top + rows.length * mm(rowMm),
    };
  }

  // Sizes the canvas for the layout (sharp on high-density screens) and publishes the layout
  // on the canvas (data-geometry) for the browser tests and assistive scripts.
  function sizeCanvas(L) {
    var ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(L.width * ratio); canvas.height = Math.round(L.height * ratio);
    canvas.style.width = L.width + "px"; canvas.style.height = L.height + "px";
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    canvas.dataset.geometry = JSON.stringify({
      x0: L.x0, pxPerS: L.pxPerS, pxPerMv: L.pxPerMv, pulseX: mm(PULSE_LEFT_MM),
      pulseWidth: PULSE_S * L.pxPerS, modelY: L.modelY, referenceY: L.referenceY,
      rows: L.rows.map(function (r) { return {name: r.name, top: r.top, baseline: r.baseline}; }),
      speed: speed, gain: gain, pxPerMm: PX_PER_MM,
    });
  }

  // Plain paper under the labels; the 1 mm / 5 mm grid under the leads, from the trace's
  // origin so that 0 mV and the first sample of the window lie on 5 mm lines.
  function drawGrid(L) {
    var p = data.paper;
    ctx.fillStyle = p.paper; ctx.fillRect(0, 0, L.width, L.height);
    ctx.lineWidth = 1;
    [[1, p.grid_minor], [5, p.grid_major]].forEach(function (grid) {
      var every = mm(grid[0]);
      ctx.strokeStyle = grid[1]; ctx.beginPath();
      for (var gx = L.x0 % every; gx <= L.width; gx += every) {
        var cx = Math.round(gx) + 0.5;
        ctx.moveTo(cx, L.gridTop); ctx.lineTo(cx, L.height);
      }
      for (var gy = L.gridTop; gy <= L.height; gy += every) {
        var cy = Math.round(gy) + 0.5;
        ctx.moveTo(0, cy); ctx.lineTo(L.width, cy);
      }
      ctx.stroke();
    });
  }

  // The standard 1 mV, 200 ms calibration pulse at the left of a lead's row, and its name.
  function drawCalibration(L, row) {
    var left = mm(PULSE_LEFT_MM), width = PULSE_S * L.pxPerS, high = row.baseline - PULSE_MV * L.pxPerMv;
    ctx.strokeStyle = data.paper.trace; ctx.lineWidth = 1.5; ctx.beginPath();
    ctx.moveTo(0, row.baseline); ctx.lineTo(left, row.baseline); ctx.lineTo(left, high);
    ctx.lineTo(left + width, high); ctx.lineTo(left + width, row.baseline);
    ctx.lineTo(L.x0, row.baseline); ctx.stroke();
    ctx.fillStyle = data.paper.text; ctx.font = "bold 12px sans-serif"; ctx.textAlign = "left";
    ctx.fillText(row.name, 3, row.top + 14);
  }

  // One lead in mV on the paper's scale, clipped to its row.
  function drawLead(L, row) {
    ctx.save();
    ctx.beginPath(); ctx.rect(L.x0, row.top, L.width - L.x0, row.height); ctx.clip();
    ctx.strokeStyle = data.paper.trace; ctx.lineWidth = 1.2; ctx.beginPath();
    var n = row.signal.length, dt = data.seconds / n;
    for (var i = 0; i < n; i++) {
      var px = L.x0 + i * dt * L.pxPerS, py = row.baseline - row.signal[i] * L.pxPerMv;
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    }
    ctx.stroke();
    ctx.restore();
  }

  // The scale in force, printed on the strip itself (and beside the zoom buttons).
  function drawScale(L) {
    var text = speed + " mm/s  " + gain + " mm/mV";
    ctx.fillStyle = data.paper.text; ctx.font = "12px sans-serif"; ctx.textAlign = "left";
    ctx.fillText(text, 3, 13);
    if (scaleText) scaleText.textContent = speed + " mm/s, " + gain + " mm/mV";
  }

  // -- zoom ----------------------------------------------------------------------------------
  function setSpeed(value) {
    if (SPEEDS.indexOf(value) < 0 || value === speed) return;
    speed = value; pressed("speed", speed);
    load(data ? data.start_s : 0);  // the window follows the paper speed
  }
  // Every stored lead (a 12-lead ECG's twelve, one row each) or the analysed and second lead.
  var allLeads = false;
  var allLeadsButton = document.getElementById("strip-all-leads");
  if (allLeadsButton) allLeadsButton.addEventListener("click", function () {
    allLeads = !allLeads; allLeadsButton.setAttribute("aria-pressed", String(allLeads));
    load(data ? data.start_s : 0);
  });
  function setGain(value) {
    if (GAINS.indexOf(value) < 0 || value === gain) return;
    gain = value; pressed("gain", gain);
    if (data) draw();
  }
  function neighbour(list, value, by) { return list[Math.max(0, Math.min(list.length - 1, list.indexOf(value) + by))]; }
  function pressed(kind, value) {
    document.querySelectorAll("[data-" + kind + "]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(parseFloat(b.dataset[kind]) === value));
    });
  }
  document.querySelectorAll("[data-speed]").forEach(function (b) {
    b.addEventListener("click", function () { setSpeed(parseFloat(b.dataset.speed)); });
  });
  document.querySelectorAll("[data-gain]").forEach(function (b) {
    b.addEventListener("click", function () { setGain(parseFloat(b.dataset.gain)); });
  });

  // -- labels --------------------------------------------------------------------------------
  // The model's row (its class, X? uncertain, · unreadable, reviewed with a tick) and, with
  // reference annotations, the reference row; a disagreement is outlined across both rows
  // and flagged with a triangle on the paper.
  function drawLabels(L) {
    var textColour = function (code) { return data.text_colours[code] || data.paper.text; };
    ctx.font = "12px sans-serif"; ctx.textAlign = "left"; ctx.fillStyle = data.paper.text;
    ctx.fillText("model", 3, L.modelY + 13);
    if (L.referenceY !== null) ctx.fillText("reference", 3, L.referenceY + 13);
    ctx.textAlign = "center";
    data.beats.forEach(function (b, i) {
      var bx = x(b.t);
      // the outline stays within its beat's share of the row when beats crowd (10 mm/s)
      var gaps = [i > 0 ? bx - x(data.beats[i - 1].t) : 99, i + 1 < data.beats.length ? x(data.beats[i + 1].t) - bx : 99];
      var half = Math.max(4, Math.min(11, Math.min(gaps[0], gaps[1]) / 2 - 1));
      ctx.fillStyle = b.reviewed ? textColour(b.reviewed) :
        (b.state === "unreadable" ? data.paper.grey : textColour(b.label));
      ctx.fillText(mark(b), bx, L.modelY + 13);
      if (L.referenceY !== null && b.reference) {
        ctx.fillStyle = textColour(b.reference); ctx.fillText(b.reference, bx, L.referenceY + 13);
      }
      if (L.referenceY !== null && b.disagrees) {
        ctx.strokeStyle = data.paper.disagree; ctx.lineWidth = 2;
        ctx.strokeRect(bx - half, L.modelY + 1, 2 * half, 2 * LABEL_ROW - 2);
        ctx.fillStyle = data.paper.disagree; ctx.beginPath();
        ctx.moveTo(bx - 5, L.gridTop + 1); ctx.lineTo(bx + 5, L.gridTop + 1); ctx.lineTo(bx, L.gridTop + 9);
        ctx.fill();
      }
    });
    ctx.lineWidth = 1;
  }

  function draw() {
    var L = layout = paperLayout();
    sizeCanvas(L);
    drawGrid(L);
    (data.unreadable || []).forEach(function (u) {  // no class is shown for what lies here
      var ux = x(u.start_s), uw = x(u.end_s) - ux;
      ctx.fillStyle = "#d9d9d9"; ctx.globalAlpha = 0.6;
      ctx.fillRect(Math.max(ux, L.x0), 0, uw - Math.max(0, L.x0 - ux), L.height);
      ctx.globalAlpha = 1; ctx.fillStyle = data.paper.grey; ctx.textAlign = "left"; ctx.font = "11px sans-serif";
      ctx.fillText("unreadable: " + u.reasons.join(", "), Math.max(L.x0 + 2, ux + 2), L.height - 4);
    });
    drawEpisodes(L);
    drawScale(L);  // over the grey of an unreadable stretch, so it stays legible
    L.rows.forEach(function (row) { drawCalibration(L, row); drawLead(L, row); });
    data.beats.forEach(function (b) {  // a faint band in the class colour across the leads
      var colour = b.reviewed ? (data.colours[b.reviewed] || "#666") :
        (b.state === "unreadable" ? data.paper.grey : (data.colours[b.label] || "#666"));
      ctx.fillStyle = colour; ctx.globalAlpha = 0.18;
      ctx.fillRect(x(b.t) - 3, L.gridTop, 6, L.height - L.gridTop);
      ctx.globalAlpha = 1;
    });
    drawLabels(L);
    if (selected >= 0 && data.beats[selected]) {  // the beat shown in the detail card
      ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
      ctx.strokeRect(x(data.beats[selected].t) - 8, 2, 16, L.height - 4);
      ctx.lineWidth = 1;
    }
    caption.textContent = data.start_s.toFixed(1) + "–" + (data.start_s + data.seconds).toFixed(1) +
      " s of " + duration.toFixed(0) + " s; " + data.beats.length + " beats. Click a beat for details." +
      ((data.unreadable || []).length ? " Grey: unreadable, no class shown." : "");
  }

  // Rhythm episodes (AF, runs, pauses, ...) as labelled translucent bands under the trace; a
  // point event (start == end) still gets a visible band. A rejected episode (the owner's
  // verdict) is drawn apart: no fill, a grey dashed outline and "(rejected)" after its name;
  // confirmed, corrected and added ones say so after their name (a corrected one is drawn over
  // the owner's span: the server sends that span).
  var EPISODE_COLOURS = {AF: "#8e44ad", VT: "#c0392b", IVR: "#c0392b", VFL: "#c0392b", SVT: "#d35400", pause: "#2c3e50"};
  var EPISODE_STATES = {confirmed: " \u2713 confirmed", rejected: " (rejected)", added: " (added)", corrected: " (span corrected)"};
  function drawEpisodes(L) {
    (data.episodes || []).forEach(function (e, i) {
      var left = Math.max(L.x0, x(e.start_s)), right = Math.min(L.width, Math.max(x(e.end_s), left + 4));
      var rejected = e.state === "rejected";
      if (rejected) {
        ctx.save(); ctx.strokeStyle = data.paper.grey; ctx.setLineDash([4, 3]);
        ctx.strokeRect(left, L.gridTop, right - left, L.height - L.gridTop); ctx.restore();
        ctx.fillStyle = data.paper.grey;
      } else {
        ctx.fillStyle = EPISODE_COLOURS[e.kind] || "#1f6f8b"; ctx.globalAlpha = 0.12;
        ctx.fillRect(left, L.gridTop, right - left, L.height - L.gridTop);
        ctx.globalAlpha = 1;
      }
      ctx.textAlign = "left"; ctx.font = "11px sans-serif";
      ctx.fillText(e.label + (EPISODE_STATES[e.state] || ""), left + 2, L.gridTop + 12 + 12 * (i % 3));  // overlaps stay legible
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
    var params = {start: start, seconds: seconds()};
    if (allLeads) params.leads = "all";
    fetch(url(section.dataset.stripUrl, params), {credentials: "same-origin"})
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
          (b.state_reason ? "; " + b.state_reason : "") +
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
    var rect = canvas.getBoundingClientRect(), L = paperLayout();
    var t = data.start_s + ((event.clientX - rect.left) * L.width / rect.width - L.x0) / L.pxPerS;
    var best = data.beats.reduce(function (a, b) { return Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a; });
    if (Math.abs(best.t - t) < 0.3) showBeat(best);
  });
  // Keyboard: focus the strip, then left / right arrows walk from beat to beat; + / - change
  // the paper speed, up / down arrows the gain.
  canvas.addEventListener("keydown", function (event) {
    // Ctrl+Z undoes the latest review action, Ctrl+Shift+Z or Ctrl+Y redoes (as in editors):
    // each presses the page's Undo / Redo button, so the server decides what is undone.
    if ((event.ctrlKey || event.metaKey) && !event.altKey) {
      var key = event.key.toLowerCase();
      var form = key === "y" || (key === "z" && event.shiftKey) ? "review-redo" : key === "z" ? "review-undo" : "";
      if (form) {
        event.preventDefault();
        if (document.getElementById(form)) document.getElementById(form).requestSubmit();
        return;
      }
    }
    if (!data) return;
    var zoom = {"+": [SPEEDS, 1], "=": [SPEEDS, 1], "-": [SPEEDS, -1], "ArrowUp": [GAINS, 1], "ArrowDown": [GAINS, -1]}[event.key];
    if (zoom) {
      event.preventDefault();
      if (zoom[0] === SPEEDS) setSpeed(neighbour(SPEEDS, speed, zoom[1])); else setGain(neighbour(GAINS, gain, zoom[1]));
      return;
    }
    if (!data.beats.length) return;
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
  startInput.addEventListener("change", function () { load(parseFloat(startInput.value) || 0); });
  range.addEventListener("change", function () { load(parseFloat(range.value)); });
  document.querySelectorAll("a.jump").forEach(function (a) {
    a.addEventListener("click", function () { load(parseFloat(a.dataset.time) - 1); });
  });
  // ?start=<s> (a template card's link) opens the strip around that time.
  var asked = parseFloat(new URLSearchParams(window.location.search).get("start"));
  load(isFinite(asked) ? asked - 1 : 0);
})();
