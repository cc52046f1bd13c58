// The camera wall (issue 16): the tiles follow the cameras while the page is open. The server sends every tile as
// JSON (server-sent events, "tiles") when any changed; a tile's picture is fetched again only when the camera kept
// a newer frame. EventSource reconnects by itself when the stream ends or the network drops.
(function () {
  var wall = document.getElementById("wall");
  if (!wall || !window.EventSource) return;
  var summary = document.getElementById("wall-summary");
  var link = document.getElementById("wall-link");
  var STATES = {online: "在线", offline: "离线", failed: "故障", waiting: "等待视频流", elsewhere: "未在本服务运行"};

  function text(tile, role, value) { tile.querySelector("[data-role=" + role + "]").textContent = value; }

  function show(t) {
    var tile = document.getElementById("tile-" + t.device_id);
    if (!tile) return;
    tile.className = "tile state-" + t.state;
    text(tile, "state", STATES[t.state] || t.state);
    text(tile, "figures", t.analysed === null ? "" : "已分析 " + t.analysed + " 帧 · 丢弃 " + t.dropped + " 帧" +
      (t.fps === null ? "" : " · " + t.fps + " 帧/秒"));
    text(tile, "frame-at", t.frame_at ? "画面 " + t.frame_at : "");
    var event = tile.querySelector("[data-role=event]");
    if (t.event) {
      event.textContent = "最近检出：";
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
      if (!img) { picture.textContent = ""; img = document.createElement("img"); img.alt = t.name + " 最新画面"; picture.appendChild(img); }
      img.src = "/console/wall/" + encodeURIComponent(t.device_id) + "/frame.jpg?frame=" + encodeURIComponent(t.frame);
    }
  }

  var source = new EventSource(wall.dataset.stream);
  source.addEventListener("tiles", function (message) {
    var tiles = JSON.parse(message.data);
    tiles.forEach(show);
    var online = tiles.filter(function (t) { return t.state === "online"; }).length;
    summary.textContent = "在线 " + online + " / " + tiles.length + " 台";
    link.textContent = "已连接 · " + new Date().toLocaleTimeString("zh-CN", {hour12: false});
    wall.dataset.updated = String(Date.now());
  });
  source.onerror = function () { link.textContent = "连接中断，正在重连…"; };
})();
