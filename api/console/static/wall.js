// The camera wall (issue 16): the tiles follow the cameras while the page is open. The server sends every tile as
// JSON (server-sent events, "tiles") when any changed; a tile's picture is fetched again only when the camera kept
// a newer frame. EventSource reconnects by itself when the stream ends or the network drops.
(function () {
  var wall = document.getElementById("wall");
  if (!wall || !window.EventSource) return;
  var summary = document.getElementById("wall-summary");
  var link = document.getElementById("wall-link");
  var WORDS = JSON.parse(document.getElementById("wall-words").textContent); // the page's words, in its language
  var STATES = WORDS.states;

  function fill(words, values) {
    return words.replace(/\{(\w+)\}/g, function (whole, name) { return name in values ? String(values[name]) : whole; });
  }

  function text(tile, role, value) { tile.querySelector("[data-role=" + role + "]").textContent = value; }

  function show(t) {
    var tile = document.getElementById("tile-" + t.device_id);
    if (!tile) return;
    tile.className = "tile state-" + t.state;
    text(tile, "state", STATES[t.state] || t.state);
    text(tile, "figures", t.analysed === null ? "" : fill(WORDS.figures, {analysed: t.analysed, dropped: t.dropped}) +
      (t.fps === null ? "" : " · " + fill(WORDS.fps, {fps: t.fps})));
    text(tile, "frame-at", t.frame_at ? fill(WORDS.frameAt, {time: t.frame_at}) : "");
    var event = tile.querySelector("[data-role=event]");
    if (t.event) {
      event.textContent = WORDS.lastEvent;
      var a = document.createElement("a");
      a.href = "/console/detections/" + t.event.id;
      a.textContent = t.event.name;
      event.appendChild(a);
      event.appendChild(document.createTextNode(" " + t.event.at));
    }
    if (t.frame && t.frame !== tile.dataset.frame) {
      tile.dataset.frame = t.frame;
      var picture = tile.querySelector(".picture");
      var img = picture.querySelector("img");
      if (!img) { picture.textContent = ""; img = document.createElement("img"); img.alt = fill(WORDS.picture, {camera: t.name}); picture.appendChild(img); }
      img.src = "/console/wall/" + encodeURIComponent(t.device_id) + "/frame.jpg?frame=" + encodeURIComponent(t.frame);
    }
  }

  var source = new EventSource(wall.dataset.stream);
  source.addEventListener("tiles", function (message) {
    var tiles = JSON.parse(message.data);
    tiles.forEach(show);
    var online = tiles.filter(function (t) { return t.state === "online"; }).length;
    summary.textContent = fill(WORDS.online, {online: online, total: tiles.length});
    var now = new Date().toLocaleTimeString(document.documentElement.lang || "zh-CN", {hour12: false});
    link.textContent = fill(WORDS.connected, {time: now});
    wall.dataset.updated = String(Date.now());
  });
  source.onerror = function () { link.textContent = WORDS.reconnecting; };
})();
