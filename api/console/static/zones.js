// The zone editor of a camera's page (issue 16): the camera's picture on a canvas with its zones and shop-front
// lines over it. "New zone", then a click per corner (a click on the first corner, or Enter, closes it); drag a corner
// to move it, drag inside a zone to move it whole, double-click an edge to add a corner, Delete removes the selected
// corner. A shop strip's line: its start, its end, then a point on the street side. Coordinates are kept as fractions
// of the picture (0..1) in each zone's hidden fields, which the form posts; the rest of the form is plain HTML. No
// framework and nothing fetched from elsewhere.
(function () {
  var form = document.querySelector("form.zone-editor");
  if (!form) return;
  var canvas = form.querySelector("canvas");
  var ctx = canvas.getContext("2d");
  var zonesBox = document.getElementById("zones");
  var rulesBox = document.getElementById("rules");
  var mode = form.querySelector("[data-role=mode]");
  var defaults = JSON.parse(form.dataset.defaults || "{}");
  var WORDS = JSON.parse(document.getElementById("zone-words").textContent); // the page's words, in its language
  var HANDLE = 9; // canvas pixels around a corner that grab it
  var COLOURS = {no_vending: "#ff3b30", shop_strip: "#ff9500", site: "#ffd400"};
  var image = new Image();
  var aspect = 16 / 9; // until the picture is loaded, or when the camera has none
  var selected = -1; // index in rows() of the zone being edited
  var corner = -1; // selected corner of that zone
  var drawing = false; // adding corners to the selected zone
  var lining = 0; // 1..3: placing the selected zone's line start, end, street side
  var drag = null;

  function rows() { return Array.prototype.slice.call(zonesBox.querySelectorAll(".zone-row")); }
  function field(row, role) { return row.querySelector("[data-role=" + role + "]"); }
  function polygon(row) { return JSON.parse(field(row, "polygon").value || "[]"); }
  function line(row) { var v = field(row, "front-line").value; return v ? JSON.parse(v) : null; }
  function round(v) { return Math.round(v * 10000) / 10000; } // a pointer's place: finer means nothing on a picture
  function clamp(v) { return Math.max(0, Math.min(1, v)); } // a corner left where it was keeps its coordinates
  function setPolygon(row, points) {
    field(row, "polygon").value = JSON.stringify(points.map(function (p) { return [clamp(p[0]), clamp(p[1])]; }));
    describe(row);
  }
  function setLine(row, l) {
    field(row, "front-line").value = l ? JSON.stringify({start: l.start.map(clamp), end: l.end.map(clamp),
      street_side: l.street_side.map(clamp)}) : "";
    describe(row);
  }
  function describe(row) {
    var n = polygon(row).length;
    field(row, "geometry").textContent = WORDS.corners.replace("{n}", n) + (line(row) ? " · " + WORDS.lineDrawn : "");
  }

  function fit() {
    var shown = Math.min(960, form.clientWidth - 4 || 960);
    canvas.width = shown;
    canvas.height = Math.round(shown / aspect);
    draw();
  }

  function px(p) { return [p[0] * canvas.width, p[1] * canvas.height]; }
  function at(event) {
    var rect = canvas.getBoundingClientRect();
    return [round((event.clientX - rect.left) / rect.width), round((event.clientY - rect.top) / rect.height)];
  }
  function near(a, b) {
    var pa = px(a), pb = px(b);
    return Math.abs(pa[0] - pb[0]) <= HANDLE && Math.abs(pa[1] - pb[1]) <= HANDLE;
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (image.complete && image.naturalWidth) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    else { ctx.fillStyle = "#5b6570"; ctx.fillRect(0, 0, canvas.width, canvas.height); }
    rows().forEach(function (row, i) {
      var points = polygon(row), colour = COLOURS[field(row, "zone-kind").value] || "#ff3b30";
      var mine = i === selected;
      if (points.length) {
        ctx.beginPath();
        points.forEach(function (p, k) { var q = px(p); if (k) ctx.lineTo(q[0], q[1]); else ctx.moveTo(q[0], q[1]); });
        if (!(mine && drawing)) ctx.closePath();
        ctx.fillStyle = colour + (mine ? "40" : "22");
        ctx.fill();
        ctx.lineWidth = mine ? 3 : 2;
        ctx.strokeStyle = colour;
        ctx.stroke();
        var label = px(points[0]);
        ctx.font = "bold 13px sans-serif";
        ctx.fillStyle = colour;
        ctx.fillText(field(row, "zone-id").value || "?", label[0] + 4, Math.max(14, label[1] - 4));
        if (mine) points.forEach(function (p, k) {
          var q = px(p);
          ctx.fillStyle = k === corner ? "#ffffff" : colour;
          ctx.fillRect(q[0] - 4, q[1] - 4, 8, 8);
        });
      }
      var l = line(row);
      if (l) drawLine(l, mine);
    });
  }

  function drawLine(l, mine) {
    var a = px(l.start), b = px(l.end), s = px(l.street_side);
    var mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    ctx.strokeStyle = "#2f7cff";
    ctx.lineWidth = mine ? 4 : 3;
    ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
    ctx.setLineDash([5, 4]);
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(mid[0], mid[1]); ctx.lineTo(s[0], s[1]); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = "#2f7cff";
    [a, b, s].forEach(function (q) { ctx.beginPath(); ctx.arc(q[0], q[1], mine ? 5 : 3, 0, 2 * Math.PI); ctx.fill(); });
    ctx.font = "12px sans-serif";
    ctx.fillText(WORDS.streetSide, s[0] + 6, s[1] + 4);
  }

  function say(text) { mode.textContent = text; }

  function select(i) {
    selected = i;
    corner = -1;
    var row = rows()[i];
    if (row) row.querySelector("input[name=selected_zone]").checked = true;
    draw();
  }

  function inside(points, p) {
    var hit = false;
    for (var i = 0, j = points.length - 1; i < points.length; j = i++) {
      var a = points[i], b = points[j];
      if ((a[1] > p[1]) !== (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]) hit = !hit;
    }
    return hit;
  }

  function finishDrawing() {
    drawing = false;
    var row = rows()[selected];
    say(row && polygon(row).length < 3 ? WORDS.tooFewCorners : "");
    draw();
  }

  canvas.addEventListener("mousedown", function (event) {
    var p = at(event), row = rows()[selected];
    canvas.focus();
    if (row && drawing) {
      var points = polygon(row);
      if (points.length >= 3 && near(points[0], p)) { finishDrawing(); return; }
      points.push(p);
      setPolygon(row, points);
      say(WORDS.cornersAdded.replace("{n}", points.length));
      draw();
      return;
    }
    if (row && lining) {
      var l = line(row) || {start: p, end: p, street_side: p};
      if (lining === 1) { l = {start: p, end: p, street_side: p}; }
      else if (lining === 2) { l.end = p; l.street_side = p; }
      else { l.street_side = p; }
      setLine(row, l);
      lining = lining === 3 ? 0 : lining + 1;
      say(lining === 2 ? WORDS.lineEnd : lining === 3 ? WORDS.streetPoint : WORDS.lineDone);
      draw();
      return;
    }
    if (row) {
      var mine = polygon(row), l2 = line(row);
      for (var k = 0; k < mine.length; k++) {
        if (near(mine[k], p)) { corner = k; drag = {kind: "corner"}; draw(); return; }
      }
      if (l2) {
        var ends = ["start", "end", "street_side"];
        for (var e = 0; e < ends.length; e++) {
          if (near(l2[ends[e]], p)) { drag = {kind: "line", end: ends[e]}; return; }
        }
      }
    }
    var all = rows();
    for (var i = all.length - 1; i >= 0; i--) {
      var points2 = polygon(all[i]);
      if (points2.length >= 3 && inside(points2, p)) {
        select(i);
        drag = {kind: "move", from: p, points: points2, line: line(all[i])};
        return;
      }
    }
  });

  canvas.addEventListener("mousemove", function (event) {
    if (!drag) return;
    var p = at(event), row = rows()[selected];
    if (!row) return;
    if (drag.kind === "corner") {
      var points = polygon(row);
      points[corner] = p;
      setPolygon(row, points);
    } else if (drag.kind === "line") {
      var l = line(row);
      l[drag.end] = p;
      setLine(row, l);
    } else {
      var dx = p[0] - drag.from[0], dy = p[1] - drag.from[1];
      var xs = drag.points.map(function (q) { return q[0]; }), ys = drag.points.map(function (q) { return q[1]; });
      dx = Math.max(-Math.min.apply(null, xs), Math.min(1 - Math.max.apply(null, xs), dx));
      dy = Math.max(-Math.min.apply(null, ys), Math.min(1 - Math.max.apply(null, ys), dy));
      var moved = function (q) { return [round(q[0] + dx), round(q[1] + dy)]; };
      setPolygon(row, drag.points.map(moved));
      if (drag.line) setLine(row, {start: moved(drag.line.start), end: moved(drag.line.end),
        street_side: moved(drag.line.street_side)});
    }
    draw();
  });

  window.addEventListener("mouseup", function () { drag = null; });

  canvas.addEventListener("dblclick", function (event) {
    var row = rows()[selected];
    if (!row || drawing) return;
    var p = at(event), points = polygon(row), best = -1, gap = Infinity;
    for (var k = 0; k < points.length; k++) {
      var a = px(points[k]), b = px(points[(k + 1) % points.length]), q = px(p);
      var dx = b[0] - a[0], dy = b[1] - a[1];
      var t = Math.max(0, Math.min(1, ((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / (dx * dx + dy * dy || 1)));
      var d = Math.hypot(a[0] + t * dx - q[0], a[1] + t * dy - q[1]);
      if (d < gap) { gap = d; best = k; }
    }
    if (best >= 0 && gap <= HANDLE) {
      points.splice(best + 1, 0, p);
      setPolygon(row, points);
      corner = best + 1;
      draw();
    }
  });

  canvas.addEventListener("keydown", function (event) {
    var row = rows()[selected];
    if (!row) return;
    if (event.key === "Enter" && drawing) { event.preventDefault(); finishDrawing(); }
    else if (event.key === "Escape") { drawing = false; lining = 0; say(""); draw(); }
    else if ((event.key === "Delete" || event.key === "Backspace") && corner >= 0) {
      event.preventDefault();
      var points = polygon(row);
      if (points.length > 3) { points.splice(corner, 1); setPolygon(row, points); corner = -1; draw(); }
      else say(WORDS.tooFewCorners);
    }
  });

  // -- rows: zones and rules added and removed; each rule's choice of zones follows the zones' ids -----------------
  var counter = 1000;
  function added(box, template) {
    var html = document.getElementById(template).innerHTML.replace(/__i__/g, String(counter++));
    box.insertAdjacentHTML("beforeend", html);
    return box.lastElementChild;
  }

  function zoneIds() {
    return rows().map(function (row) { return field(row, "zone-id").value.trim(); }).filter(Boolean);
  }

  function refreshRuleZones() {
    var ids = zoneIds();
    rulesBox.querySelectorAll("[data-role=rule-zones]").forEach(function (choice) {
      var chosen = Array.prototype.filter.call(choice.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
      if (!choice.options.length && choice.dataset.chosen) chosen = choice.dataset.chosen.split(",");
      choice.innerHTML = "";
      ids.forEach(function (id) { choice.add(new Option(id, id, false, chosen.indexOf(id) >= 0)); });
      choice.size = Math.max(2, Math.min(6, ids.length));
    });
  }

  function placeholders(rule) {
    var kind = rule.querySelector("[data-role=rule-kind]").value, times = defaults[kind] || {};
    rule.querySelectorAll("[data-time]").forEach(function (input) {
      var v = times[input.dataset.time];
      input.placeholder = v === undefined ? "" : String(v);
    });
  }

  form.querySelector("[data-action=add-zone]").addEventListener("click", function () {
    var row = added(zonesBox, "zone-template");
    field(row, "zone-id").value = "Z-" + (rows().length);
    describe(row);
    select(rows().length - 1);
    drawing = true;
    lining = 0;
    say(WORDS.clickCorners);
    refreshRuleZones();
    canvas.focus();
  });

  form.querySelector("[data-action=draw-line]").addEventListener("click", function () {
    if (!rows()[selected]) { say(WORDS.chooseZone); return; }
    drawing = false;
    lining = 1;
    say(WORDS.lineStart);
    canvas.focus();
  });

  form.querySelector("[data-action=remove-line]").addEventListener("click", function () {
    var row = rows()[selected];
    if (row) { setLine(row, null); draw(); }
  });

  form.querySelector("[data-action=add-rule]").addEventListener("click", function () {
    var rule = added(rulesBox, "rule-template");
    placeholders(rule);
    refreshRuleZones();
  });

  form.querySelector("[data-action=reload-picture]").addEventListener("click", function () {
    image.src = form.dataset.src + "?at=" + Date.now();
  });

  form.addEventListener("click", function (event) {
    var action = event.target.dataset && event.target.dataset.action;
    if (action === "remove-zone" || action === "remove-rule") {
      var row = event.target.closest("fieldset");
      if (action === "remove-zone" && rows().indexOf(row) === selected) { selected = -1; drawing = false; lining = 0; }
      row.remove();
      if (action === "remove-zone") { selected = Math.min(selected, rows().length - 1); refreshRuleZones(); }
      draw();
    }
  });
  form.addEventListener("change", function (event) {
    var target = event.target;
    if (target.name === "selected_zone") { drawing = false; lining = 0; select(rows().indexOf(target.closest("fieldset"))); }
    if (target.dataset.role === "rule-kind") placeholders(target.closest("fieldset"));
    if (target.dataset.role === "zone-kind") draw();
  });
  form.addEventListener("input", function (event) {
    if (event.target.dataset.role === "zone-id") { refreshRuleZones(); draw(); }
  });

  rows().forEach(describe);
  rulesBox.querySelectorAll(".rule-row").forEach(placeholders);
  image.onload = function () { aspect = image.naturalWidth / image.naturalHeight; fit(); };
  image.onerror = function () { say(WORDS.noPicture); fit(); };
  image.src = form.dataset.src;
  window.addEventListener("resize", fit);
  if (rows().length) select(0);
  fit();
})();
