// The box editor of the detection page (issue 15): each key frame on a canvas with its boxes. Drag a box to move it,
// drag a corner to resize it, drag on empty picture to draw a new one of the chosen class; a selected box takes the
// class chosen, and Delete (or the button) removes it. Saving posts the boxes in the picture's own pixels. No
// framework and nothing fetched from elsewhere.
(function () {
  var HANDLE = 8; // pixels of the canvas around a corner that grab it
  var MIN = 4; // a new box smaller than this (picture pixels) is a click, not a box

  document.querySelectorAll("form.label-editor").forEach(function (form) {
    var canvas = form.querySelector("canvas");
    var ctx = canvas.getContext("2d");
    var width = Number(form.dataset.width), height = Number(form.dataset.height);
    var field = form.querySelector("input[name=boxes]");
    var chooser = form.querySelector("select[name=class]");
    var boxes = JSON.parse(field.value || "[]");
    var image = new Image();
    var selected = -1, drag = null;
    var scale = 1;

    function labelOf(name) {  // the class as the chooser names it for people (摊位), else as the model does
      var option = Array.prototype.find.call(chooser.options, function (o) { return o.value === name; });
      return option ? option.textContent : name;
    }

    function fit() {
      var shown = Math.min(width, form.clientWidth || width, 640);
      scale = shown / width;
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      draw();
    }

    function draw() {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      if (image.complete && image.naturalWidth) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      boxes.forEach(function (box, i) {
        var r = box.xyxy.map(function (v) { return v * scale; });
        ctx.lineWidth = i === selected ? 3 : 2;
        ctx.strokeStyle = i === selected ? "#ffd400" : "#ff3b30";
        ctx.strokeRect(r[0], r[1], r[2] - r[0], r[3] - r[1]);
        ctx.fillStyle = ctx.strokeStyle;
        ctx.font = "12px sans-serif";
        ctx.fillText(labelOf(box["class"]), r[0] + 2, Math.max(12, r[1] - 3));
        if (i === selected) {
          [[r[0], r[1]], [r[2], r[1]], [r[0], r[3]], [r[2], r[3]]].forEach(function (p) {
            ctx.fillRect(p[0] - 3, p[1] - 3, 6, 6);
          });
        }
      });
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return [(event.clientX - rect.left) / scale, (event.clientY - rect.top) / scale];
    }

    function corner(box, p) {
      var x = [box.xyxy[0], box.xyxy[2]], y = [box.xyxy[1], box.xyxy[3]];
      for (var i = 0; i < 2; i++) for (var j = 0; j < 2; j++) {
        if (Math.abs(p[0] - x[i]) * scale <= HANDLE && Math.abs(p[1] - y[j]) * scale <= HANDLE) return [i, j];
      }
      return null;
    }

    function inside(box, p) {
      return p[0] >= box.xyxy[0] && p[0] <= box.xyxy[2] && p[1] >= box.xyxy[1] && p[1] <= box.xyxy[3];
    }

    function clamp(v, top) { return Math.max(0, Math.min(top, v)); }

    function tidy(box) {
      var x1 = Math.min(box.xyxy[0], box.xyxy[2]), x2 = Math.max(box.xyxy[0], box.xyxy[2]);
      var y1 = Math.min(box.xyxy[1], box.xyxy[3]), y2 = Math.max(box.xyxy[1], box.xyxy[3]);
      box.xyxy = [clamp(x1, width), clamp(y1, height), clamp(x2, width), clamp(y2, height)].map(function (v) {
        return Math.round(v * 10) / 10;
      });
    }

    canvas.addEventListener("mousedown", function (event) {
      var p = point(event);
      if (selected >= 0) {
        var grabbed = corner(boxes[selected], p);
        if (grabbed) { drag = {kind: "corner", corner: grabbed}; return; }
      }
      for (var i = boxes.length - 1; i >= 0; i--) {
        if (inside(boxes[i], p)) {
          selected = i;
          chooser.value = boxes[i]["class"];
          drag = {kind: "move", from: p, start: boxes[i].xyxy.slice()};
          draw();
          return;
        }
      }
      boxes.push({"class": chooser.value, xyxy: [p[0], p[1], p[0], p[1]]});
      selected = boxes.length - 1;
      drag = {kind: "new"};
      draw();
    });

    canvas.addEventListener("mousemove", function (event) {
      if (!drag || selected < 0) return;
      var p = point(event), box = boxes[selected];
      if (drag.kind === "move") {
        var dx = p[0] - drag.from[0], dy = p[1] - drag.from[1];
        dx = clamp(drag.start[0] + dx, width - (drag.start[2] - drag.start[0])) - drag.start[0];
        dy = clamp(drag.start[1] + dy, height - (drag.start[3] - drag.start[1])) - drag.start[1];
        box.xyxy = [drag.start[0] + dx, drag.start[1] + dy, drag.start[2] + dx, drag.start[3] + dy];
      } else if (drag.kind === "corner") {
        box.xyxy[drag.corner[0] * 2] = clamp(p[0], width);
        box.xyxy[drag.corner[1] * 2 + 1] = clamp(p[1], height);
      } else {
        box.xyxy[2] = clamp(p[0], width);
        box.xyxy[3] = clamp(p[1], height);
      }
      draw();
    });

    window.addEventListener("mouseup", function () {
      if (!drag) return;
      var box = boxes[selected];
      tidy(box);
      if (drag.kind === "new" && (box.xyxy[2] - box.xyxy[0] < MIN || box.xyxy[3] - box.xyxy[1] < MIN)) {
        boxes.splice(selected, 1);
        selected = -1;
      }
      drag = null;
      draw();
    });

    chooser.addEventListener("change", function () {
      if (selected >= 0) { boxes[selected]["class"] = chooser.value; draw(); }
    });

    function remove() {
      if (selected < 0) return;
      boxes.splice(selected, 1);
      selected = -1;
      draw();
    }
    form.querySelector("[data-action=delete]").addEventListener("click", remove);
    canvas.tabIndex = 0;
    canvas.addEventListener("keydown", function (event) {
      if (event.key === "Delete" || event.key === "Backspace") { event.preventDefault(); remove(); }
    });

    form.addEventListener("submit", function () {
      field.value = JSON.stringify(boxes.map(function (b) { return {"class": b["class"], xyxy: b.xyxy}; }));
    });

    image.onload = fit;
    image.src = form.dataset.src;
    window.addEventListener("resize", fit);
    fit();
  });
})();
